//! dmsched — device-side OMA DM Scheduling.
//!
//! Layers (data flows one way): `model`, `when` and `expr` are leaves; the
//! `engine` evaluates schedules against an injected clock and talks to the
//! `store` (SQLite) and to the host through the traits in [`host`].
#![warn(missing_docs)]

pub mod expr;
pub mod model;
pub mod when;
