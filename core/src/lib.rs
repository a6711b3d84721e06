//! dmsched — device-side OMA DM Scheduling.
//!
//! A DM server hands the device a schedule: DM commands plus the times,
//! tree values and events that should trigger them. This crate verifies it,
//! stores it ([`store`], SQLite), evaluates it ([`engine`]) against an
//! injected clock, runs the actions through the host ([`host`]) with the
//! owning server's rights, and queues reports.
//!
//! Layers (data flows one way): [`model`], [`when`], [`expr`] and
//! [`syncml`] (the SyncML DM codec) are leaves; [`dm`] (the DM client) →
//! [`tree`] → [`mo`] (the Scheduling MO) → [`engine`] ↔ [`store`], and the
//! engine calls the [`host`]. [`agent`] assembles them for full-client mode.
#![warn(missing_docs)]

#[cfg(feature = "http")]
pub mod agent;
pub mod dm;
pub mod engine;
mod error_kind;
pub mod expr;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod input;
pub mod mo;
pub mod model;
pub mod registry;
pub mod shared;
pub mod store;
pub mod syncml;
pub mod tree;
pub mod when;
pub mod wire;

pub use engine::{
    Engine, EngineConfig, EngineError, Event, Inspection, Quiet, ReportBatch, ScheduleInfo,
    ScheduleState, TaskInfo,
};
pub use error_kind::ErrorKind;
pub use host::{
    Access, ActionExecutor, Authorizer, Choices, Execution, Host, HostError, PromptAnswer,
    ReportSink, RunContext, TreeAccess, UserPrompt,
};
