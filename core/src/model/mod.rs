//! The schedule model: the document a management authority submits, its
//! JSON form, limits and structural validation.
//!
//! The JSON format is documented in `docs/schedule-format.md` and described
//! by `docs/schedule.schema.json`.

mod action;
pub mod diagnose;
pub mod events;
mod outcome;
mod personalize;
mod schedule;
pub(crate) mod validate;

pub(crate) use action::url_decode;
pub use action::{ALERT_CODES, Action, AlertSpec, Command, Op, RawAction};
pub use outcome::{CommandResult, Firing, Outcome, Report, RunRecord};
pub use personalize::{
    Choice, DelayBounds, MAX_PERSONAL_DELAY_SECONDS, PARAM_KINDS, Param, ParamKind, Personalize,
    WindowBounds,
};
pub use schedule::{
    After, Calendar, Constraints, Delivery, Edge, EventMatch, Every, Misfire, Policy,
    ReportDelivery, ReportWhen, Retry, Schedule, TRIGGER_KINDS, Task, Termination, Trigger,
};
pub use validate::{
    Limits, Problem, is_valid_id, is_valid_uri, parse_document, validate_structure,
};
