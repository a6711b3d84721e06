//! The host's callbacks (C function pointers + `user_data`) as the core's
//! host traits. Values cross as JSON text in SDK-owned buffers.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use dmsched_core::expr::Value;
use dmsched_core::model::{Action, CommandResult, Report};
use dmsched_core::{
    Access, ActionExecutor, Authorizer, Execution, HostError, PromptAnswer, ReportSink, RunContext,
    TreeAccess, UserPrompt,
};

/// A byte buffer the SDK owns; a callback fills it with `dms_buffer_set`.
#[derive(Default)]
pub struct dms_buffer {
    pub(crate) data: Vec<u8>,
    pub(crate) set: bool,
}

impl dms_buffer {
    /// Runs a host callback `f` with a fresh buffer: its return code and the buffer.
    pub(crate) fn fill(f: impl FnOnce(&mut dms_buffer) -> i32) -> (i32, dms_buffer) {
        let mut b = dms_buffer::default();
        (f(&mut b), b)
    }

    /// A failed callback's reason: the text it left in the buffer, else `default`.
    fn failure(&self, default: impl FnOnce() -> String) -> HostError {
        match self.data.is_empty() {
            true => HostError(default()),
            false => HostError(String::from_utf8_lossy(&self.data).into_owned()),
        }
    }
}

/// The user's answer to a confirmation prompt.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dms_prompt_answer {
    /// Run now.
    DMS_PROMPT_ACCEPT = 0,
    /// Do not run this occurrence.
    DMS_PROMPT_REFUSE = 1,
    /// Ask again after `*postpone_seconds`.
    DMS_PROMPT_POSTPONE = 2,
}

/// What a server wants to do with a schedule it does not own.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dms_access {
    /// List or get it.
    DMS_ACCESS_READ = 0,
    /// Modify, suspend or resume it.
    DMS_ACCESS_CHANGE = 1,
    /// Terminate it.
    DMS_ACCESS_END = 2,
}

/// Reads a DM-tree node for a condition, with the rights of server `owner`.
/// Write the value as JSON (`42`, `1.5`, `true`, `"text"`) into `value_json`
/// with `dms_buffer_set` and return 0; return 0 without writing when the node
/// does not exist; return non-zero (optionally with a message in
/// `value_json`) when the read fails or is not allowed.
pub type dms_tree_read_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        owner: *const c_char,
        uri: *const c_char,
        value_json: *mut dms_buffer,
    ) -> i32,
>;

/// Executes a task's DM commands with the rights of `context.owner`.
/// `context_json` is `{"owner","schedule","task","seq","attempt","due","now","run_id"}`;
/// `actions_json` the task's actions as in the schedule document. Write a
/// JSON array with one `{"op","target","status","data"?}` per command run
/// into `results_json` and return 0; return `DMS_EXECUTE_PENDING` when the
/// commands go on after the callback (a long action: complete the run later
/// with `dms_engine_complete(run_id, …)`); any other non-zero means the
/// commands could not be run at all (a failed attempt; message in
/// `results_json`).
pub type dms_execute_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        context_json: *const c_char,
        actions_json: *const c_char,
        results_json: *mut dms_buffer,
    ) -> i32,
>;

/// Asks the user before a run (policy `confirm`): write a `dms_prompt_answer`
/// value to `*answer` (and `*postpone_seconds` for a postponement) and
/// return 0; non-zero means no answer (the occurrence is skipped).
pub type dms_confirm_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        context_json: *const c_char,
        title: *const c_char,
        answer: *mut i32,
        postpone_seconds: *mut u64,
    ) -> i32,
>;

/// Asks the user to adjust a schedule (personalisation, use case step 4):
/// called when a schedule with parameters is installed, or a modify brings
/// new ones. `personalize_json` is the schedule's
/// `{"params": [{"id", "task", "label"?, "window" | "delay" | "opt_out"}],
/// "choices": {…}}` (the choices so far). Write every choice the user wants
/// into `choices` with `dms_buffer_set` — a JSON object of parameter id → a
/// window `{"start": "HH:MM", "end": "HH:MM"}`, seconds, or `true`/`false`
/// — and return 0; return 0 without writing to decide later (then call
/// `dms_engine_personalize` / `dms_agent_personalize`); non-zero is a
/// failure (no choices). Choices out of bounds are ignored.
pub type dms_personalize_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        context_json: *const c_char,
        title: *const c_char,
        personalize_json: *const c_char,
        choices: *mut dms_buffer,
    ) -> i32,
>;

/// A report was queued in the outbox (`report_json` is `{"id", "report_id",
/// "created", "firing"}`; `report_id`: its stable identifier).
pub type dms_report_ready_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, report_json: *const c_char)>;

/// May `requester` perform `access` on schedule `id` of `owner`?
pub type dms_authorize_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        requester: *const c_char,
        owner: *const c_char,
        id: *const c_char,
        access: dms_access,
    ) -> bool,
>;

/// Releases `user_data` when the engine is closed.
pub type dms_destroy_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// The host's callbacks. `tree_read` and `execute` are required; the others
/// may be NULL (then: a task with `confirm` is refused, reports are only
/// polled, and only owners act on their schedules). Callbacks run on the
/// thread that called into the engine, while the engine is locked, and must
/// not call into any engine or agent (`DMS_REENTRANT_CALL`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dms_host {
    /// `sizeof` this struct as the host was compiled (set it first, e.g.
    /// `x.struct_size = sizeof x`): members added in later versions are
    /// appended, and the library reads only what the host's header had
    /// (0: the 0.1 layout).
    pub struct_size: u32,
    /// Passed to every callback.
    pub user_data: *mut c_void,
    /// Tree reads for conditions.
    pub tree_read: dms_tree_read_fn,
    /// Runs actions.
    pub execute: dms_execute_fn,
    /// Asks the user (may be NULL).
    pub confirm: dms_confirm_fn,
    /// Told about new reports (may be NULL).
    pub report_ready: dms_report_ready_fn,
    /// Cross-authority access (may be NULL).
    pub authorize: dms_authorize_fn,
    /// Log lines at or above `dms_config.log_level` (may be NULL).
    pub log: crate::log::dms_log_fn,
    /// Called once with `user_data` when the engine is closed (may be NULL).
    pub destroy: dms_destroy_fn,
    /// Asks the user to adjust a schedule (personalisation; may be NULL:
    /// the host sets choices with `dms_engine_personalize` when it wants).
    /// Added after 0.1: a host built against 0.1 leaves it NULL.
    pub personalize: dms_personalize_fn,
}

/// `sizeof(dms_host)` in 0.1: what `struct_size` 0 stands for, up to the
/// first member appended since (`personalize`).
pub(crate) const HOST_V1_SIZE: usize = std::mem::offset_of!(dms_host, personalize);

/// The host as the core sees it. `destroy` runs at drop only once the
/// engine adopted the host (a failed open leaves `user_data` to the caller).
pub(crate) struct CHost(pub dms_host, pub std::sync::atomic::AtomicBool);

// SAFETY: the header documents that callbacks and `user_data` must be usable
// from any thread that calls into the engine; the engine serialises calls.
unsafe impl Send for CHost {}
// SAFETY: as above.
unsafe impl Sync for CHost {}

fn cstr(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl TreeAccess for CHost {
    fn read(&self, owner: &str, uri: &str) -> Result<Option<Value>, HostError> {
        let f = self
            .0
            .tree_read
            .ok_or_else(|| HostError("no tree_read callback".into()))?;
        let (o, u) = (cstr(owner), cstr(uri));
        // SAFETY: the host supplied this function for exactly this call.
        let (st, buf) =
            dms_buffer::fill(|b| unsafe { f(self.0.user_data, o.as_ptr(), u.as_ptr(), b) });
        if st != 0 {
            return Err(
                buf.failure(|| format!("tree read of {uri} failed (callback returned {st})"))
            );
        }
        if !buf.set {
            return Ok(None);
        }
        serde_json::from_slice(&buf.data)
            .map(Some)
            .map_err(|e| HostError(format!("tree read of {uri}: value is not JSON: {e}")))
    }
}

impl ActionExecutor for CHost {
    fn execute(
        &self,
        ctx: &RunContext,
        actions: &[Action],
    ) -> Result<Vec<CommandResult>, HostError> {
        self.start(ctx, actions)?.into_done()
    }

    fn start(&self, ctx: &RunContext, actions: &[Action]) -> Result<Execution, HostError> {
        let f = self
            .0
            .execute
            .ok_or_else(|| HostError("no execute callback".into()))?;
        let c = cstr(&dmsched_core::wire::RunContext::json(ctx));
        let a = cstr(&serde_json::to_string(actions).map_err(|e| HostError(e.to_string()))?);
        // SAFETY: the host supplied this function for exactly this call.
        let (st, buf) =
            dms_buffer::fill(|b| unsafe { f(self.0.user_data, c.as_ptr(), a.as_ptr(), b) });
        match st {
            DMS_EXECUTE_PENDING => return Ok(Execution::Pending),
            0 => {}
            _ => return Err(buf.failure(|| format!("execute failed (callback returned {st})"))),
        }
        results_of(&buf.data).map(Execution::Done)
    }
}

/// Results as a host gives them: a JSON array of `{op, target, status,
/// data?}`.
pub(crate) fn results_of(json: &[u8]) -> Result<Vec<CommandResult>, HostError> {
    serde_json::from_slice(json).map_err(|e| {
        HostError(format!(
            "execute results are not a JSON array of {{op, target, status}}: {e}"
        ))
    })
}

/// What an `execute` callback returns to leave the run running: the host
/// finishes the commands later and reports them with
/// `dms_engine_complete` (or `dms_agent_complete`) and the `run_id` of
/// `context_json`. Not completed within the task's
/// `completion_timeout_seconds`, the attempt fails.
pub const DMS_EXECUTE_PENDING: i32 = 0x5045_4E44;

impl UserPrompt for CHost {
    fn confirm(&self, ctx: &RunContext, title: &str) -> Result<PromptAnswer, HostError> {
        let f = self
            .0
            .confirm
            .ok_or_else(|| HostError("no confirm callback".into()))?;
        let c = cstr(&dmsched_core::wire::RunContext::json(ctx));
        let t = cstr(title);
        let mut answer = dms_prompt_answer::DMS_PROMPT_REFUSE as i32;
        let mut secs = 0u64;
        // SAFETY: the host supplied this function for exactly this call.
        let st = unsafe {
            f(
                self.0.user_data,
                c.as_ptr(),
                t.as_ptr(),
                &mut answer,
                &mut secs,
            )
        };
        if st != 0 {
            return Err(HostError(format!(
                "confirm failed (callback returned {st})"
            )));
        }
        match answer {
            a if a == dms_prompt_answer::DMS_PROMPT_ACCEPT as i32 => Ok(PromptAnswer::Accept),
            a if a == dms_prompt_answer::DMS_PROMPT_REFUSE as i32 => Ok(PromptAnswer::Refuse),
            a if a == dms_prompt_answer::DMS_PROMPT_POSTPONE as i32 => {
                Ok(PromptAnswer::Postpone(secs))
            }
            other => Err(HostError(format!(
                "confirm wrote an unknown answer {other}"
            ))),
        }
    }

    fn personalize(
        &self,
        ctx: &RunContext,
        title: &str,
        p: &dmsched_core::model::Personalize,
    ) -> Result<Option<dmsched_core::Choices>, HostError> {
        self.ask_personalize(ctx, title, p)
    }
}

impl CHost {
    /// The host's `personalize` callback as the core's prompt method.
    fn ask_personalize(
        &self,
        ctx: &RunContext,
        title: &str,
        p: &dmsched_core::model::Personalize,
    ) -> Result<Option<dmsched_core::Choices>, HostError> {
        let Some(f) = self.0.personalize else {
            return Ok(None);
        };
        let c = cstr(&dmsched_core::wire::RunContext::json(ctx));
        let t = cstr(title);
        let j = cstr(&serde_json::to_string(p).map_err(|e| HostError(e.to_string()))?);
        // SAFETY: the host supplied this function for exactly this call.
        let (st, buf) = dms_buffer::fill(|b| unsafe {
            f(self.0.user_data, c.as_ptr(), t.as_ptr(), j.as_ptr(), b)
        });
        if st != 0 {
            return Err(buf.failure(|| format!("personalize failed (callback returned {st})")));
        }
        if !buf.set {
            return Ok(None);
        }
        let text = std::str::from_utf8(&buf.data)
            .map_err(|_| HostError("personalize wrote choices that are not UTF-8".into()))?;
        dmsched_core::input::choices(text, "choices")
            .map(Some)
            .map_err(|f| HostError(f.message))
    }
}

impl ReportSink for CHost {
    fn report_ready(&self, report: &Report) {
        if let Some(f) = self.0.report_ready
            && let Ok(json) = serde_json::to_string(report)
        {
            let j = cstr(&json);
            // SAFETY: the host supplied this function for exactly this call.
            unsafe { f(self.0.user_data, j.as_ptr()) };
        }
    }
}

impl Authorizer for CHost {
    fn authorize(&self, requester: &str, owner: &str, id: &str, access: Access) -> bool {
        let Some(f) = self.0.authorize else {
            return false;
        };
        let (r, o, i) = (cstr(requester), cstr(owner), cstr(id));
        let a = match access {
            Access::Read => dms_access::DMS_ACCESS_READ,
            Access::Change => dms_access::DMS_ACCESS_CHANGE,
            Access::End => dms_access::DMS_ACCESS_END,
        };
        // SAFETY: the host supplied this function for exactly this call.
        unsafe { f(self.0.user_data, r.as_ptr(), o.as_ptr(), i.as_ptr(), a) }
    }
}

impl Drop for CHost {
    fn drop(&mut self) {
        if !self.1.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if let Some(d) = self.0.destroy {
            // SAFETY: called once, when the last reference to the host goes.
            unsafe { d(self.0.user_data) };
        }
    }
}

/// The core host made from the C callbacks (one shared object), and that
/// object, to mark it adopted once the engine opened.
pub(crate) fn core_host(h: dms_host) -> (dmsched_core::Host, Arc<CHost>) {
    let c = Arc::new(CHost(h, std::sync::atomic::AtomicBool::new(false)));
    let host = dmsched_core::Host {
        tree: c.clone(),
        executor: c.clone(),
        prompt: (h.confirm.is_some() || h.personalize.is_some())
            .then(|| c.clone() as Arc<dyn UserPrompt>),
        reports: h
            .report_ready
            .is_some()
            .then(|| c.clone() as Arc<dyn ReportSink>),
        authorizer: h
            .authorize
            .is_some()
            .then(|| c.clone() as Arc<dyn Authorizer>),
    };
    (host, c)
}
