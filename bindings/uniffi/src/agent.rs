//! Full-client mode: the core's `dmsched::agent::Agent` (DM tree, engine,
//! Scheduling MO, DM client and HTTPS transport over one state directory)
//! as a UniFFI object. Only translation lives here.
//!
//! Threads: an `Agent` may be shared between threads; the core serialises
//! what must be. `runSession` blocks for the whole session (network
//! round-trips, up to the HTTP timeout per message): never call it on the
//! main (UI) thread; so does `deliverReports`. Callbacks (`UserPrompt`,
//! `UserInteraction`, `Authorizer`, `ActionExecutor`) run on the thread of
//! the call that needs them; one that calls back into an agent gets
//! `InvalidState`, never a deadlock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dmsched_core::EngineConfig;
use dmsched_core::agent::{Agent as CoreAgent, AgentConfig, AgentHost};
use dmsched_core::shared::SharedAgent;

use crate::dm_types::{
    AcceptedNotification, Delivery, DeviceFacts, MoReport, MoSettings, ReportRetry, SessionSummary,
};
use crate::host::{
    AuthorizerAdapter, ExecutorAdapter, PromptAdapter, SecretAdapter, SecretStore, UiAdapter,
    UserInteraction,
};
use crate::types::{Firing, ScheduleSummary, TreeValue, WakeupWindow};
use crate::{ActionExecutor, Authorizer, DmschedError, UserPrompt, time};

/// How to open an agent.
#[derive(Clone, Debug, uniffi::Record)]
pub struct AgentSettings {
    /// The state directory (created if absent): `dmsched.db` (schedules,
    /// DM tree, DM client state) and one `transport-<server>.json` per
    /// provisioned server (its trust anchor).
    pub state_dir: String,
    /// The device facts of `./DevInfo` and `./DevDetail`.
    pub device: DeviceFacts,
    /// The device's IANA time zone (for schedules using `"local"`).
    #[uniffi(default = "UTC")]
    pub time_zone: String,
    /// Optional JSON overriding engine settings (`limits`,
    /// `misfire_grace_seconds`, `outbox_capacity`, `max_misfire_records`), as
    /// for `EngineSettings`; the device id is always `device.devId`.
    #[uniffi(default = None)]
    pub options_json: Option<String>,
    /// Whole-exchange timeout of one HTTP request of a session, ms.
    #[uniffi(default = 60000)]
    pub http_timeout_ms: i64,
    /// Where the Scheduling MO lives and how its reports are typed; null
    /// keeps every default.
    #[uniffi(default = None)]
    pub mo: Option<MoSettings>,
    /// The backoff of `deliverReports`; null: 30 s, doubling, at most 3600 s.
    #[uniffi(default = None)]
    pub report_retry: Option<ReportRetry>,
}

/// The core's configuration for `settings`.
fn config(settings: AgentSettings) -> Result<AgentConfig, DmschedError> {
    let engine = match &settings.options_json {
        Some(j) => EngineConfig::from_json(j)
            .map_err(|e| DmschedError::InvalidArgument(format!("options_json: {e}")))?,
        None => EngineConfig::default(),
    };
    let mut cfg = AgentConfig::new(PathBuf::from(settings.state_dir), settings.device.into());
    cfg.engine = EngineConfig {
        device_id: cfg.engine.device_id.clone(),
        time_zone: settings.time_zone,
        ..engine
    };
    let timeout = u64::try_from(settings.http_timeout_ms).map_err(|_| {
        DmschedError::InvalidArgument(format!(
            "http_timeout_ms {} is negative",
            settings.http_timeout_ms
        ))
    })?;
    cfg.http.timeout = Duration::from_millis(timeout);
    if let Some(mo) = settings.mo {
        cfg.mo = mo.apply(cfg.mo);
    }
    if let Some(r) = settings.report_retry {
        cfg.report_retry = r.try_into()?;
    }
    Ok(cfg)
}

/// The device side of DM Scheduling in full-client mode: DM account,
/// package #0, sessions, schedules run offline, reports. `shutdown()`
/// releases it for every reference.
#[derive(uniffi::Object)]
pub struct Agent {
    /// The core's `SharedAgent`: the rules (re-entrance, closing) of every
    /// surface.
    shared: SharedAgent<CoreAgent>,
}

impl Agent {
    /// Opens the core agent (shared by the UniFFI constructor and JNI).
    pub(crate) fn open_core(
        settings: AgentSettings,
        now_ms: i64,
        host: AgentHost,
        secrets: Option<Arc<dyn dmsched_core::tree::SecretStore>>,
    ) -> Result<Agent, DmschedError> {
        let mut cfg = config(settings)?;
        cfg.secrets = secrets;
        let agent = CoreAgent::open(cfg, host, time(now_ms)?)?;
        Ok(Agent {
            shared: SharedAgent::new(agent, ()),
        })
    }

    /// Runs `f` on the core agent (the shared rules: re-entrance refused,
    /// `Closed` after `shutdown()`, a shutdown from a callback taking
    /// effect when the call returns).
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&CoreAgent) -> Result<T, DmschedError>,
    ) -> Result<T, DmschedError> {
        self.shared.with(|a, _| Ok(f(a)))?
    }
}

fn firings(v: Vec<dmsched_core::model::Firing>) -> Vec<Firing> {
    v.into_iter().map(Into::into).collect()
}

#[uniffi::export]
impl Agent {
    /// Opens (creating) the agent in `settings.stateDir` at `nowMs`: the DM
    /// tree with the standard MOs and `./Scheduling`, the engine (recovering
    /// interrupted runs), the DM client. Without `prompt` a task whose policy
    /// asks for confirmation is refused; without `ui` user-interaction
    /// alerts are answered 416 and a package #0 in ui-mode 3 is declined;
    /// without `authorizer` only a schedule's owner may act on it. With
    /// `executor` (hand-off mode) the DM commands of scheduled tasks go to
    /// it, with the owning server in `context.owner`, instead of the agent's
    /// tree; its statuses are the runs' results and reports, and a throw is
    /// a failed attempt. Conditions still read the agent's tree. `secrets`
    /// keeps the accounts' passwords, HMAC secrets and nonces (Keystore,
    /// Keychain); without it they go to `dmsched.db.secrets` (0600) in the
    /// state directory. Secrets stored before in the file move to the store
    /// at open; the store must be the same one at every later open.
    #[uniffi::constructor(default(
        prompt = None,
        ui = None,
        authorizer = None,
        executor = None,
        secrets = None
    ))]
    pub fn open(
        settings: AgentSettings,
        now_ms: i64,
        prompt: Option<Arc<dyn UserPrompt>>,
        ui: Option<Arc<dyn UserInteraction>>,
        authorizer: Option<Arc<dyn Authorizer>>,
        executor: Option<Arc<dyn ActionExecutor>>,
        secrets: Option<Arc<dyn SecretStore>>,
    ) -> Result<Arc<Self>, DmschedError> {
        let host = AgentHost {
            prompt: prompt.map(|p| Arc::new(PromptAdapter(p)) as _),
            ui: ui.map(|u| Arc::new(UiAdapter(u)) as _),
            authorizer: authorizer.map(|a| Arc::new(AuthorizerAdapter(a)) as _),
            executor: executor.map(|e| Arc::new(ExecutorAdapter(e)) as _),
        };
        let secrets = secrets.map(|s| Arc::new(SecretAdapter(s)) as _);
        Ok(Arc::new(Agent::open_core(settings, now_ms, host, secrets)?))
    }

    /// Provisions a DM account (bootstrap) from its JSON form (`server_id`,
    /// `server_url`, `client` {`auth`, `name`, `secret`, `nonce`}, the
    /// `server` credential (required unless `allow_unauthenticated_server`
    /// is `true`), `allow_plain_http`; docs/dm-client.md) and returns its
    /// server id. `caPem` is the server's TLS trust anchor (PEM); without it
    /// the public roots are trusted. `AlreadyExists` if the server has one.
    #[uniffi::method(default(ca_pem = None))]
    pub fn provision(
        &self,
        account_json: String,
        ca_pem: Option<String>,
        now_ms: i64,
    ) -> Result<String, DmschedError> {
        self.with(|a| Ok(a.provision(&account_json, ca_pem.as_deref(), None, time(now_ms)?)?))
    }

    /// Checks a package #0 (the bytes of the WAP push or SMS): well-formed,
    /// for a provisioned server, authentic, not seen before, and returns the
    /// proof to hand to `runSession` (`info()` says what it asks for).
    /// Accepting is durable: the same bytes are refused
    /// (`NotificationRefused`) from now on.
    pub fn accept_notification(
        &self,
        bytes: Vec<u8>,
        now_ms: i64,
    ) -> Result<Arc<AcceptedNotification>, DmschedError> {
        self.with(|a| {
            Ok(Arc::new(AcceptedNotification(
                a.accept_notification(&bytes, time(now_ms)?)?,
            )))
        })
    }

    /// Runs one DM session with `serverId` and returns when it is over:
    /// client-initiated when `notification` is null, else the session an
    /// accepted package #0 asked for. Reports waiting for that server go with
    /// it and are dropped once acknowledged. BLOCKING (network): never call
    /// it on the main thread.
    #[uniffi::method(default(notification = None))]
    pub fn run_session(
        &self,
        server_id: String,
        notification: Option<Arc<AcceptedNotification>>,
        now_ms: i64,
    ) -> Result<SessionSummary, DmschedError> {
        let accepted = notification.as_ref().map(|n| &n.0);
        self.with(|a| {
            let summary = a.run_session(&server_id, accepted, time(now_ms)?)?;
            Ok(SessionSummary::new(&server_id, &summary, accepted))
        })
    }

    /// Runs everything due at `nowMs`; returns the occurrences that finished.
    pub fn tick(&self, now_ms: i64) -> Result<Vec<Firing>, DmschedError> {
        self.with(|a| Ok(firings(a.tick(time(now_ms)?)?)))
    }

    /// The earliest instant (Unix ms) at which `tick` or `deliverReports`
    /// has work (a due run, reports to deliver at once, a delivery retry);
    /// null when none.
    pub fn next_wakeup(&self) -> Result<Option<i64>, DmschedError> {
        self.with(|a| Ok(a.next_wakeup().map(|t| t.as_millisecond())))
    }

    /// For inexact alarms (WorkManager, BGTaskScheduler): any instant in the
    /// window is a good time to `tick`; null when nothing is scheduled.
    pub fn wakeup_window(&self) -> Result<Option<WakeupWindow>, DmschedError> {
        self.with(|a| {
            Ok(a.wakeup_window().map(|(e, l)| WakeupWindow {
                earliest_ms: e.as_millisecond(),
                latest_ms: l.as_millisecond(),
            }))
        })
    }

    /// The device changed time zone (IANA name): tasks using `local` are
    /// re-planned from `nowMs`. An unknown zone is `InvalidArgument`.
    pub fn set_time_zone(&self, zone: String, now_ms: i64) -> Result<(), DmschedError> {
        self.with(|a| Ok(a.set_time_zone(&zone, time(now_ms)?)?))
    }

    /// Hand-off mode: completes run `runId` the executor left running
    /// (`Execution.Pending`) with `results`, as `Engine.complete`.
    pub fn complete(
        &self,
        run_id: i64,
        results: Vec<crate::CommandResult>,
        now_ms: i64,
    ) -> Result<Vec<Firing>, DmschedError> {
        let results =
            crate::host::results_of(results).map_err(|e| DmschedError::InvalidArgument(e.0))?;
        self.with(|a| Ok(firings(a.complete(run_id, results, time(now_ms)?)?)))
    }

    /// A device event (`fieldsJson`: a JSON object of its fields, or null).
    #[uniffi::method(default(fields_json = None))]
    pub fn post_event(
        &self,
        name: String,
        fields_json: Option<String>,
        now_ms: i64,
    ) -> Result<Vec<Firing>, DmschedError> {
        let fields = match fields_json {
            Some(j) => serde_json::from_str(&j)
                .map_err(|e| DmschedError::InvalidArgument(format!("fields_json: {e}")))?,
            None => Default::default(),
        };
        let ev = dmsched_core::Event { name, fields };
        self.with(|a| Ok(firings(a.post_event(&ev, time(now_ms)?)?)))
    }

    /// Sets a device-owned leaf of the DM tree with the format of `value`
    /// (created, with any missing interior nodes above it, if absent) and
    /// runs what its change triggers (tree-value triggers, constraints).
    pub fn set_value(
        &self,
        uri: String,
        value: TreeValue,
        now_ms: i64,
    ) -> Result<Vec<Firing>, DmschedError> {
        let value = value.into();
        self.with(|a| Ok(firings(a.set_value(&uri, &value, time(now_ms)?)?)))
    }

    /// The user's choices for schedule `id` of `serverId`
    /// (personalisation), as `Engine.personalize`; the server is told in a
    /// `personalized` state report with its next session.
    pub fn personalize(
        &self,
        server_id: String,
        id: String,
        choices_json: String,
        now_ms: i64,
    ) -> Result<ScheduleSummary, DmschedError> {
        self.with(|a| {
            Ok(
                a.personalize(&server_id, &id, &choices_json, time(now_ms)?)?
                    .into(),
            )
        })
    }

    /// Every schedule on the device, whichever server installed it.
    pub fn schedules(&self) -> Result<Vec<ScheduleSummary>, DmschedError> {
        self.with(|a| Ok(a.schedules()?.into_iter().map(Into::into).collect()))
    }

    /// The Scheduling reports waiting for `serverId`, oldest first; they go
    /// with its next session as Generic Alerts 1226.
    pub fn pending_reports(&self, server_id: String) -> Result<Vec<MoReport>, DmschedError> {
        self.with(|a| {
            Ok(a.pending_reports(&server_id)?
                .iter()
                .map(MoReport::from)
                .collect())
        })
    }

    /// Delivers the reports whose task asks for immediate delivery
    /// (`policy.reportDelivery: "immediate"`, MO `Report/Delivery`): one
    /// session (blocking) with each server that has such reports waiting,
    /// unless a failed attempt put it off past `nowMs`. A server that cannot
    /// be reached or leaves reports unacknowledged is retried with the
    /// `reportRetry` backoff (see `nextWakeup`). One `Delivery` per server
    /// tried; a failed session is a `Delivery` with an `error`, not a throw.
    /// BLOCKING (network): never call it on the main thread.
    pub fn deliver_reports(&self, now_ms: i64) -> Result<Vec<Delivery>, DmschedError> {
        self.with(|a| {
            Ok(a.deliver_reports(time(now_ms)?)?
                .iter()
                .map(Delivery::from)
                .collect())
        })
    }

    /// The servers with reports for immediate delivery waiting (what
    /// `deliverReports` would try, backoff aside).
    pub fn reports_to_deliver(&self) -> Result<Vec<String>, DmschedError> {
        self.with(|a| Ok(a.reports_to_deliver()))
    }

    /// Releases the agent (its database and runtime) for every reference:
    /// calls in flight on other threads finish first; from inside one of
    /// its callbacks, when that call returns. Later calls fail with
    /// `Closed`; twice is harmless. (Kotlin's `close()`/`use {}` and Swift's
    /// deinit release this reference only.)
    pub fn shutdown(&self) {
        self.shared.close();
    }
}
