//! The host as foreign traits (implemented in Kotlin or Swift), adapted to
//! the core's host traits.

use std::sync::Arc;

use dmsched_core::expr::Value;
use dmsched_core::model::{Action, CommandResult as CoreResult, Report as CoreReport};

use crate::types::{CommandResult, Report, RunContext, TreeValue};

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

struct Adapter {
    tree: Arc<dyn TreeAccess>,
    executor: Arc<dyn ActionExecutor>,
    reports: Option<Arc<dyn ReportSink>>,
}

impl dmsched_core::TreeAccess for Adapter {
    fn read(&self, owner: &str, uri: &str) -> Result<Option<Value>, dmsched_core::HostError> {
        self.tree
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
        if let Some(s) = &self.reports {
            s.report_ready(report.clone().into());
        }
    }
}

pub(crate) fn core_host(
    tree: Arc<dyn TreeAccess>,
    executor: Arc<dyn ActionExecutor>,
    reports: Option<Arc<dyn ReportSink>>,
) -> dmsched_core::Host {
    let has_reports = reports.is_some();
    let a = Arc::new(Adapter {
        tree,
        executor,
        reports,
    });
    dmsched_core::Host {
        tree: a.clone(),
        executor: a.clone(),
        prompt: None,
        reports: has_reports.then_some(a as Arc<dyn dmsched_core::ReportSink>),
        authorizer: None,
    }
}
