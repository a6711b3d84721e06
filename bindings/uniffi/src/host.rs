//! The host as foreign traits (implemented in Kotlin or Swift), adapted to
//! the core's host traits.

use std::sync::Arc;

use dmsched_core::expr::Value;
use dmsched_core::model::{Action, CommandResult as CoreResult, Report as CoreReport};

#[cfg(feature = "agent")]
use crate::dm_types::{UiRequest, UiResponse};
use crate::types::{Access, CommandResult, Execution, PromptAnswer, Report, RunContext, TreeValue};

/// A host callback failed. Kotlin: `HostException`; Swift: `HostError`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum HostError {
    /// The callback could not do what was asked.
    #[error("{reason}")]
    Failed {
        /// Why (`message` would clash with Kotlin's Exception.message).
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for HostError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        HostError::Failed {
            reason: format!("callback threw: {}", e.reason),
        }
    }
}

/// Reads DM-tree values for conditions, with the rights of server `owner`.
#[uniffi::export(with_foreign)]
pub trait TreeAccess: Send + Sync {
    /// The node's value, or null when it does not exist.
    fn read(&self, owner: String, uri: String) -> Result<Option<TreeValue>, HostError>;
}

/// Runs a task's DM commands with the rights of `context.owner`: the host
/// of an `Engine`, and an `Agent`'s optional hand-off executor (the host's
/// own DM stack applies the commands instead of the agent's tree).
/// Throwing makes the attempt fail with the message as its reason.
#[uniffi::export(with_foreign)]
pub trait ActionExecutor: Send + Sync {
    /// `actions_json` is the task's actions as in the schedule document;
    /// return `Done` with one result per command run, or `Pending` when the
    /// commands go on after the call (complete the run later with
    /// `complete(context.runId, …)`).
    fn execute(&self, context: RunContext, actions_json: String) -> Result<Execution, HostError>;
}

/// Told when a report is queued in the outbox.
#[uniffi::export(with_foreign)]
pub trait ReportSink: Send + Sync {
    /// A report waits for `report.firing.owner`; acknowledge it once delivered.
    fn report_ready(&self, report: Report);
}

/// Asks the user before a run of a task whose policy says `confirm`.
#[uniffi::export(with_foreign)]
pub trait UserPrompt: Send + Sync {
    /// Shows the run (`title`: the schedule's name) and returns the answer.
    /// Throwing counts as a refusal with the message as the reason.
    fn confirm(&self, context: RunContext, title: String) -> Result<PromptAnswer, HostError>;

    /// Asks the user to adjust schedule `context.schedule` (personalisation,
    /// use case step 4): called when it is installed with parameters, or a
    /// modify brings new ones. `personalizeJson` is
    /// `{"params": [{"id", "task", "label"?, "window" | "delay" | "opt_out"}],
    /// "choices": {…}}` (the choices so far). Return every choice the user
    /// wants as a JSON object of parameter id → a window `{"start": "HH:MM",
    /// "end": "HH:MM"}`, seconds or `true`/`false`, or `null` to decide
    /// later (then `Engine.personalize` / `Agent.personalize`). Choices out
    /// of bounds are ignored; throwing leaves the defaults.
    fn personalize(
        &self,
        context: RunContext,
        title: String,
        personalize_json: String,
    ) -> Result<Option<String>, HostError>;
}

/// Decides whether one management authority may act on another's schedule
/// (normally from the DM tree's ACL on the Scheduling MO).
#[uniffi::export(with_foreign)]
pub trait Authorizer: Send + Sync {
    /// True if `requester` may perform `access` on schedule `id` of `owner`.
    fn authorize(&self, requester: String, owner: String, id: String, access: Access) -> bool;
}

#[cfg(feature = "agent")]
/// Shows a DM server's user-interaction alerts (1100 display, 1101 confirm,
/// 1102 text input, 1103 single and 1104 multiple choice) and the notice
/// or question of a package #0 in ui-mode 2 or 3. Called on the thread
/// running `runSession`, while the session waits; it may block up to the
/// request's `maxDisplaySecs` and must not call back into the agent.
#[uniffi::export(with_foreign)]
pub trait UserInteraction: Send + Sync {
    /// Shows `request` and returns what the user did. Throwing answers
    /// `CannotShow` (DM status 416).
    fn interact(&self, request: UiRequest) -> Result<UiResponse, HostError>;
}

/// A foreign [`UserPrompt`] as the core's.
pub(crate) struct PromptAdapter(pub(crate) Arc<dyn UserPrompt>);

impl dmsched_core::UserPrompt for PromptAdapter {
    fn confirm(
        &self,
        ctx: &dmsched_core::RunContext,
        title: &str,
    ) -> Result<dmsched_core::PromptAnswer, dmsched_core::HostError> {
        self.0
            .confirm(ctx.into(), title.to_string())
            .map(Into::into)
            .map_err(|e| dmsched_core::HostError(e.to_string()))
    }

    fn personalize(
        &self,
        ctx: &dmsched_core::RunContext,
        title: &str,
        p: &dmsched_core::model::Personalize,
    ) -> Result<Option<dmsched_core::Choices>, dmsched_core::HostError> {
        let json = serde_json::to_string(p).map_err(|e| dmsched_core::HostError(e.to_string()))?;
        match self
            .0
            .personalize(ctx.into(), title.to_string(), json)
            .map_err(|e| dmsched_core::HostError(e.to_string()))?
        {
            None => Ok(None),
            Some(text) => dmsched_core::input::choices(&text, "choices")
                .map(Some)
                .map_err(|f| dmsched_core::HostError(f.message)),
        }
    }
}

/// Runs `actions` through a foreign executor: the actions as JSON in, the
/// results converted back; a throwing callback or an unusable result is a
/// `HostError` (a failed attempt), never a panic.
fn execute_foreign(
    executor: &dyn ActionExecutor,
    ctx: &dmsched_core::RunContext,
    actions: &[Action],
) -> Result<dmsched_core::Execution, dmsched_core::HostError> {
    let json =
        serde_json::to_string(actions).map_err(|e| dmsched_core::HostError(e.to_string()))?;
    match executor
        .execute(ctx.into(), json)
        .map_err(|e| dmsched_core::HostError(e.to_string()))?
    {
        Execution::Pending => Ok(dmsched_core::Execution::Pending),
        Execution::Done { results } => results_of(results).map(dmsched_core::Execution::Done),
    }
}

/// Results a host hands in, as the core's (an unusable one is a
/// `HostError`).
pub(crate) fn results_of(
    results: Vec<CommandResult>,
) -> Result<Vec<CoreResult>, dmsched_core::HostError> {
    results
        .into_iter()
        .map(|r| r.try_into().map_err(dmsched_core::HostError))
        .collect()
}

/// The core executor trait's `execute` for an adapter whose `start` does
/// the work (the engine calls `start`).
/// A foreign [`ActionExecutor`] as the core's (an agent's hand-off mode).
pub(crate) struct ExecutorAdapter(pub(crate) Arc<dyn ActionExecutor>);

impl dmsched_core::ActionExecutor for ExecutorAdapter {
    fn execute(
        &self,
        ctx: &dmsched_core::RunContext,
        actions: &[Action],
    ) -> Result<Vec<CoreResult>, dmsched_core::HostError> {
        self.start(ctx, actions)?.into_done()
    }

    fn start(
        &self,
        ctx: &dmsched_core::RunContext,
        actions: &[Action],
    ) -> Result<dmsched_core::Execution, dmsched_core::HostError> {
        execute_foreign(self.0.as_ref(), ctx, actions)
    }
}

/// A foreign [`Authorizer`] as the core's.
pub(crate) struct AuthorizerAdapter(pub(crate) Arc<dyn Authorizer>);

impl dmsched_core::Authorizer for AuthorizerAdapter {
    fn authorize(
        &self,
        requester: &str,
        owner: &str,
        id: &str,
        access: dmsched_core::Access,
    ) -> bool {
        self.0.authorize(
            requester.to_string(),
            owner.to_string(),
            id.to_string(),
            access,
        )
    }
}

#[cfg(feature = "agent")]
/// A foreign [`UserInteraction`] as the core's.
pub(crate) struct UiAdapter(pub(crate) Arc<dyn UserInteraction>);

#[cfg(feature = "agent")]
impl dmsched_core::dm::session::UserInteraction for UiAdapter {
    fn interact(
        &self,
        request: &dmsched_core::dm::session::UiRequest,
    ) -> dmsched_core::dm::session::UiResponse {
        match self.0.interact(request.into()) {
            Ok(r) => r.into(),
            Err(e) => {
                tracing::warn!(target: "dmsched::uniffi", error = %e, "user interaction failed");
                dmsched_core::dm::session::UiResponse::CannotShow
            }
        }
    }
}

/// The foreign callbacks of one engine.
pub(crate) struct Callbacks {
    pub(crate) tree: Arc<dyn TreeAccess>,
    pub(crate) executor: Arc<dyn ActionExecutor>,
    pub(crate) reports: Option<Arc<dyn ReportSink>>,
    pub(crate) prompt: Option<Arc<dyn UserPrompt>>,
    pub(crate) authorizer: Option<Arc<dyn Authorizer>>,
}

struct Adapter(Callbacks);

impl dmsched_core::TreeAccess for Adapter {
    fn read(&self, owner: &str, uri: &str) -> Result<Option<Value>, dmsched_core::HostError> {
        self.0
            .tree
            .read(owner.to_string(), uri.to_string())
            .map(|v| v.map(Into::into))
            .map_err(|e| dmsched_core::HostError(e.to_string()))
    }
}

impl dmsched_core::ReportSink for Adapter {
    fn report_ready(&self, report: &CoreReport) {
        if let Some(s) = &self.0.reports {
            s.report_ready(report.clone().into());
        }
    }
}

pub(crate) fn core_host(callbacks: Callbacks) -> dmsched_core::Host {
    let prompt = callbacks
        .prompt
        .clone()
        .map(|p| Arc::new(PromptAdapter(p)) as Arc<dyn dmsched_core::UserPrompt>);
    let authorizer = callbacks
        .authorizer
        .clone()
        .map(|a| Arc::new(AuthorizerAdapter(a)) as Arc<dyn dmsched_core::Authorizer>);
    let has_reports = callbacks.reports.is_some();
    let executor = Arc::new(ExecutorAdapter(callbacks.executor.clone()));
    let a = Arc::new(Adapter(callbacks));
    dmsched_core::Host {
        tree: a.clone(),
        executor,
        prompt,
        reports: has_reports.then_some(a as Arc<dyn dmsched_core::ReportSink>),
        authorizer,
    }
}

#[cfg(feature = "agent")]
/// Where the agent keeps its DM accounts' secrets (passwords, HMAC secrets,
/// nonces): Android Keystore, iOS Keychain or any store the host trusts.
/// Without one they go to `dmsched.db.secrets` (mode 0600) in the state
/// directory; the database holds only references either way. Keys are
/// opaque (`dmsched-tree-…`); the store may hold other keys, which the
/// agent never touches. `put` must be durable when it returns; never log
/// values. A throw fails the operation that needed the secret (provisioning,
/// a session) with the message; nothing stored is lost.
#[uniffi::export(with_foreign)]
pub trait SecretStore: Send + Sync {
    /// The value under `key`, or null.
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, HostError>;
    /// Stores `value` under `key`, replacing any.
    fn put(&self, key: String, value: Vec<u8>) -> Result<(), HostError>;
    /// Removes `key` (absent: nothing to do).
    fn delete(&self, key: String) -> Result<(), HostError>;
    /// Every key the store holds.
    fn keys(&self) -> Result<Vec<String>, HostError>;
}

#[cfg(feature = "agent")]
/// A foreign [`SecretStore`] as the core's.
pub(crate) struct SecretAdapter(pub(crate) Arc<dyn SecretStore>);

#[cfg(feature = "agent")]
impl std::fmt::Debug for SecretAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretAdapter")
    }
}

#[cfg(feature = "agent")]
fn secret_err(e: HostError) -> dmsched_core::tree::SecretError {
    dmsched_core::tree::SecretError(e.to_string())
}

#[cfg(feature = "agent")]
impl dmsched_core::tree::SecretStore for SecretAdapter {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, dmsched_core::tree::SecretError> {
        self.0.get(key.to_string()).map_err(secret_err)
    }
    fn put(&self, key: &str, value: &[u8]) -> Result<(), dmsched_core::tree::SecretError> {
        self.0
            .put(key.to_string(), value.to_vec())
            .map_err(secret_err)
    }
    fn delete(&self, key: &str) -> Result<(), dmsched_core::tree::SecretError> {
        self.0.delete(key.to_string()).map_err(secret_err)
    }
    fn keys(&self) -> Result<Vec<String>, dmsched_core::tree::SecretError> {
        self.0.keys().map_err(secret_err)
    }
}
