//! The host as foreign traits (implemented in Kotlin or Swift), adapted to
//! the core's host traits.

use std::sync::Arc;

use dmsched_core::expr::Value;
use dmsched_core::model::{Action, CommandResult as CoreResult, Report as CoreReport};

use crate::types::{Access, CommandResult, PromptAnswer, Report, RunContext, TreeValue};

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

/// Runs a task's DM commands with the rights of `context.owner`.
#[uniffi::export(with_foreign)]
pub trait ActionExecutor: Send + Sync {
    /// `actions_json` is the task's actions as in the schedule document;
    /// return one result per command run.
    fn execute(
        &self,
        context: RunContext,
        actions_json: String,
    ) -> Result<Vec<CommandResult>, HostError>;
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
}

/// Decides whether one management authority may act on another's schedule
/// (normally from the DM tree's ACL on the Scheduling MO).
#[uniffi::export(with_foreign)]
pub trait Authorizer: Send + Sync {
    /// True if `requester` may perform `access` on schedule `id` of `owner`.
    fn authorize(&self, requester: String, owner: String, id: String, access: Access) -> bool;
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

impl dmsched_core::ActionExecutor for Adapter {
    fn execute(
        &self,
        ctx: &dmsched_core::RunContext,
        actions: &[Action],
    ) -> Result<Vec<CoreResult>, dmsched_core::HostError> {
        let json =
            serde_json::to_string(actions).map_err(|e| dmsched_core::HostError(e.to_string()))?;
        let out = self
            .0
            .executor
            .execute(ctx.into(), json)
            .map_err(|e| dmsched_core::HostError(e.to_string()))?;
        out.into_iter()
            .map(|r| r.try_into().map_err(dmsched_core::HostError))
            .collect()
    }
}

impl dmsched_core::ReportSink for Adapter {
    fn report_ready(&self, report: &CoreReport) {
        if let Some(s) = &self.0.reports {
            s.report_ready(report.clone().into());
        }
    }
}

impl dmsched_core::UserPrompt for Adapter {
    fn confirm(
        &self,
        ctx: &dmsched_core::RunContext,
        title: &str,
    ) -> Result<dmsched_core::PromptAnswer, dmsched_core::HostError> {
        let p = self
            .0
            .prompt
            .as_ref()
            .expect("only installed with a prompt");
        p.confirm(ctx.into(), title.to_string())
            .map(Into::into)
            .map_err(|e| dmsched_core::HostError(e.to_string()))
    }
}

impl dmsched_core::Authorizer for Adapter {
    fn authorize(
        &self,
        requester: &str,
        owner: &str,
        id: &str,
        access: dmsched_core::Access,
    ) -> bool {
        let a = self
            .0
            .authorizer
            .as_ref()
            .expect("only installed with an authorizer");
        a.authorize(
            requester.to_string(),
            owner.to_string(),
            id.to_string(),
            access.into(),
        )
    }
}

pub(crate) fn core_host(callbacks: Callbacks) -> dmsched_core::Host {
    let (has_reports, has_prompt, has_auth) = (
        callbacks.reports.is_some(),
        callbacks.prompt.is_some(),
        callbacks.authorizer.is_some(),
    );
    let a = Arc::new(Adapter(callbacks));
    dmsched_core::Host {
        tree: a.clone(),
        executor: a.clone(),
        prompt: has_prompt.then(|| a.clone() as Arc<dyn dmsched_core::UserPrompt>),
        reports: has_reports.then(|| a.clone() as Arc<dyn dmsched_core::ReportSink>),
        authorizer: has_auth.then_some(a as Arc<dyn dmsched_core::Authorizer>),
    }
}
