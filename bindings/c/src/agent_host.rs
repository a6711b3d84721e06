//! The callbacks of a full-client agent (`dms_agent_host`) as the core's
//! `AgentHost`: the confirmation prompt, the authorizer and the hand-off
//! executor reuse the engine host's glue (`CHost`); the user-interaction
//! callback for DM UI alerts (1100–1104) and package #0 ui-modes is new here.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use dmsched_core::agent::AgentHost;
use dmsched_core::dm::session::{UiRequest, UiResponse, UserInteraction};
use dmsched_core::tree::{SecretError, SecretStore};
use dmsched_core::{ActionExecutor, Authorizer, UserPrompt};

use crate::boundary::fail;
use crate::callbacks::{
    CHost, dms_authorize_fn, dms_buffer, dms_confirm_fn, dms_destroy_fn, dms_execute_fn, dms_host,
    dms_personalize_fn,
};
use crate::log::dms_log_fn;
use crate::status::dms_status;

/// What the user did with a user-interaction request; the value an
/// `interact` callback returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dms_ui_answer {
    /// Display shown (1100), or confirmation accepted (1101).
    DMS_UI_YES = 0,
    /// Confirmation refused (the server gets 304).
    DMS_UI_NO = 1,
    /// The user cancelled (214).
    DMS_UI_CANCEL = 2,
    /// No answer within `max_display_secs` (408; the default response goes back).
    DMS_UI_TIMEOUT = 3,
    /// Text entered (1102): the text is in the callback's buffer.
    DMS_UI_TEXT = 4,
    /// Choices made (1103, 1104): a JSON array of choice numbers counted
    /// from 1 (`[2]`, `[1,3]`) is in the callback's buffer.
    DMS_UI_CHOICES = 5,
    /// The device cannot show this now (416).
    DMS_UI_CANNOT_SHOW = 6,
}

/// Shows a server's user-interaction request and returns the user's answer
/// as a `dms_ui_answer` value (any other value, or a malformed buffer,
/// counts as `DMS_UI_CANNOT_SHOW`). `request_json` is
/// `{"server_id","code","kind","text","min_display_secs","max_display_secs","default_response"}`
/// with `code` 1100–1104 and `kind` one of `{"type":"display"}`,
/// `{"type":"confirm"}`, `{"type":"text_input","max_len","input_type","echo"}`,
/// `{"type":"single_choice","choices"}`, `{"type":"multiple_choice","choices"}`
/// (absent facts are `null`; the same JSON as the JNI bridge's). A package #0 with ui-mode 2 arrives as a `display`, ui-mode 3 as
/// a `confirm` before the session starts. For `DMS_UI_TEXT` and
/// `DMS_UI_CHOICES` write the answer into `answer` with `dms_buffer_set`.
/// Runs on the thread that called `dms_agent_run_session`, during the
/// session (it may block up to `max_display_secs`).
pub type dms_interact_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request_json: *const c_char,
        answer: *mut dms_buffer,
    ) -> i32,
>;

/// The host's callbacks for a full-client agent; every member may be NULL
/// (zero the struct, then set what you have). The SDK has its own DM tree,
/// so there is no `tree_read`: conditions and tree-value triggers read that
/// tree (feed it with `dms_agent_set_value`). Scheduled commands run on it
/// with the owning server's rights, unless `execute` is set (hand-off
/// mode). Callbacks run on the thread that called into the agent and must
/// not call into any engine or agent (`DMS_REENTRANT_CALL`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dms_agent_host {
    /// `sizeof` this struct as the host was compiled (set it first, e.g.
    /// `x.struct_size = sizeof x`): members added in later versions are
    /// appended, and the library reads only what the host's header had
    /// (0: the 0.1 layout).
    pub struct_size: u32,
    /// Passed to every callback.
    pub user_data: *mut c_void,
    /// Asks the user before a scheduled run (policy `confirm`); without
    /// it such a task is refused. As in `dms_host`.
    pub confirm: dms_confirm_fn,
    /// Cross-authority access to schedules; without it only owners act on
    /// their schedules. As in `dms_host`.
    pub authorize: dms_authorize_fn,
    /// User-interaction alerts (1100–1104) and package #0 ui-modes; without
    /// it alerts are answered "cannot show" (416) and a package #0 asking
    /// for the user's consent is declined.
    pub interact: dms_interact_fn,
    /// Log lines at or above the config's `log_level`. As in `dms_host`.
    pub log: dms_log_fn,
    /// Called once with `user_data` when the agent is closed (never after
    /// a failed open).
    pub destroy: dms_destroy_fn,
    /// Hand-off mode: runs the DM commands of scheduled tasks instead of the
    /// agent's tree, as in `dms_host` (`context_json.owner` is the server
    /// whose rights they run with; the host's own DM stack applies them).
    /// The statuses it returns are the run's results and go into the
    /// reports; a non-zero return (or results that are not a JSON array of
    /// `{"op","target","status","data"?}`) is a failed attempt with the
    /// message as its reason. NULL: full-client mode (the agent's tree).
    pub execute: dms_execute_fn,
    /// Where the accounts' passwords, HMAC secrets and nonces live
    /// (Keystore, Keychain, a TPM-backed store …): all four members set,
    /// or all NULL for the default, `dmsched.db.secrets` (mode 0600) in
    /// `dir`. Secrets kept in that file before move to the store at open;
    /// the store must be the same one at every later open. A zeroed
    /// member keeps the default.
    pub secrets: dms_secret_store,
    /// Asks the user to adjust a schedule (personalisation), as in
    /// `dms_host` (may be NULL: `dms_agent_personalize` sets choices when
    /// the host wants). Added after 0.1: a host built against 0.1 leaves
    /// it NULL.
    pub personalize: dms_personalize_fn,
}

/// `sizeof(dms_agent_host)` in 0.1 (with `secrets`): what `struct_size` 0
/// stands for, up to the first member appended since (`personalize`).
pub(crate) const AGENT_HOST_V1_SIZE: usize = std::mem::offset_of!(dms_agent_host, personalize);

/// The value under `key` (NUL-terminated): write it into `value` with
/// `dms_buffer_set` and return 0; return 0 without setting `value` when the
/// key is absent; any other return is a failure of the store.
pub type dms_secret_get_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, key: *const c_char, value: *mut dms_buffer) -> i32,
>;

/// Stores `len` bytes at `value` under `key`, replacing any; durable when it
/// returns 0. Any other return is a failure (nothing stored).
pub type dms_secret_put_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        value: *const u8,
        len: usize,
    ) -> i32,
>;

/// Removes `key` (absent: nothing to do, return 0).
pub type dms_secret_delete_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, key: *const c_char) -> i32>;

/// Every key the store holds, as a JSON array of strings written into
/// `keys_json` with `dms_buffer_set` (not set: none). Keys the SDK writes
/// start with `dmsched-tree-`; it never touches others.
pub type dms_secret_keys_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, keys_json: *mut dms_buffer) -> i32>;

/// A host-provided secret store (`dms_agent_host.secrets`). Each callback
/// gets the host's `user_data`, may be called from any thread that calls
/// into the agent, must never log values and must not call into the agent.
/// A non-zero return fails the operation that needed the secret
/// (provisioning, a session) with `DMS_STORAGE`; nothing stored is lost.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dms_secret_store {
    /// Reads a value.
    pub get: dms_secret_get_fn,
    /// Stores a value.
    pub put: dms_secret_put_fn,
    /// Removes a value.
    pub remove: dms_secret_delete_fn,
    /// Lists the keys.
    pub keys: dms_secret_keys_fn,
}

/// The C user-interaction callback as the core's `UserInteraction`.
struct CInteract {
    f: unsafe extern "C" fn(*mut c_void, *const c_char, *mut dms_buffer) -> i32,
    user_data: *mut c_void,
}

// SAFETY: the header documents that callbacks and `user_data` must be usable
// from any thread that calls into the agent.
unsafe impl Send for CInteract {}
// SAFETY: as above.
unsafe impl Sync for CInteract {}

fn request_json(r: &UiRequest) -> String {
    serde_json::to_string(&dmsched_core::wire::UiRequest::from(r)).unwrap_or_default()
}

impl UserInteraction for CInteract {
    fn interact(&self, request: &UiRequest) -> UiResponse {
        let j = CString::new(request_json(request).replace('\0', "")).unwrap_or_default();
        // SAFETY: the host supplied this function for exactly this call.
        let (code, buf) = dms_buffer::fill(|b| unsafe { (self.f)(self.user_data, j.as_ptr(), b) });
        const YES: i32 = dms_ui_answer::DMS_UI_YES as i32;
        const NO: i32 = dms_ui_answer::DMS_UI_NO as i32;
        const CANCEL: i32 = dms_ui_answer::DMS_UI_CANCEL as i32;
        const TIMEOUT: i32 = dms_ui_answer::DMS_UI_TIMEOUT as i32;
        const TEXT: i32 = dms_ui_answer::DMS_UI_TEXT as i32;
        const CHOICES: i32 = dms_ui_answer::DMS_UI_CHOICES as i32;
        match code {
            YES => UiResponse::Yes,
            NO => UiResponse::No,
            CANCEL => UiResponse::Cancel,
            TIMEOUT => UiResponse::Timeout,
            TEXT => UiResponse::Text(String::from_utf8_lossy(&buf.data).into_owned()),
            CHOICES => serde_json::from_slice(&buf.data)
                .map(UiResponse::Choices)
                .unwrap_or(UiResponse::CannotShow),
            _ => UiResponse::CannotShow,
        }
    }
}

/// The core's `AgentHost` from the C callbacks, and the shared object that
/// owns `user_data` (its drop runs `destroy` once adopted: keep it until
/// the agent is gone, then drop it).
pub(crate) fn agent_host(h: Option<dms_agent_host>) -> (AgentHost, Option<Arc<CHost>>) {
    let Some(h) = h else {
        return (AgentHost::default(), None);
    };
    let c = Arc::new(CHost(
        dms_host {
            struct_size: std::mem::size_of::<dms_host>() as u32,
            user_data: h.user_data,
            tree_read: None,
            execute: h.execute,
            confirm: h.confirm,
            report_ready: None,
            authorize: h.authorize,
            log: h.log,
            destroy: h.destroy,
            personalize: h.personalize,
        },
        AtomicBool::new(false),
    ));
    let host = AgentHost {
        prompt: (h.confirm.is_some() || h.personalize.is_some())
            .then(|| c.clone() as Arc<dyn UserPrompt>),
        ui: h.interact.map(|f| {
            Arc::new(CInteract {
                f,
                user_data: h.user_data,
            }) as Arc<dyn UserInteraction>
        }),
        authorizer: h
            .authorize
            .is_some()
            .then(|| c.clone() as Arc<dyn Authorizer>),
        executor: h
            .execute
            .is_some()
            .then(|| c.clone() as Arc<dyn ActionExecutor>),
    };
    (host, Some(c))
}

/// The C secret store as the core's; holds the host so that `destroy` runs
/// only after the store is gone.
struct CSecrets {
    host: Arc<CHost>,
    get: unsafe extern "C" fn(*mut c_void, *const c_char, *mut dms_buffer) -> i32,
    put: unsafe extern "C" fn(*mut c_void, *const c_char, *const u8, usize) -> i32,
    remove: unsafe extern "C" fn(*mut c_void, *const c_char) -> i32,
    keys: unsafe extern "C" fn(*mut c_void, *mut dms_buffer) -> i32,
}

impl std::fmt::Debug for CSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CSecrets")
    }
}

fn key_cstr(key: &str) -> Result<CString, SecretError> {
    CString::new(key).map_err(|_| SecretError(format!("secret key {key:?} holds a NUL")))
}

fn store_failed(what: &str, code: i32) -> SecretError {
    SecretError(format!(
        "the host's secret store failed to {what} (it returned {code})"
    ))
}

impl SecretStore for CSecrets {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SecretError> {
        let k = key_cstr(key)?;
        // SAFETY: the host supplied this function and `user_data` for it.
        let (code, buf) =
            dms_buffer::fill(|b| unsafe { (self.get)(self.host.0.user_data, k.as_ptr(), b) });
        if code != 0 {
            return Err(store_failed("read", code));
        }
        Ok(buf.set.then_some(buf.data))
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), SecretError> {
        let k = key_cstr(key)?;
        // SAFETY: as above; `value` is valid for `len` bytes during the call.
        let code = unsafe {
            (self.put)(
                self.host.0.user_data,
                k.as_ptr(),
                value.as_ptr(),
                value.len(),
            )
        };
        if code != 0 {
            return Err(store_failed("write", code));
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        let k = key_cstr(key)?;
        // SAFETY: as above.
        let code = unsafe { (self.remove)(self.host.0.user_data, k.as_ptr()) };
        if code != 0 {
            return Err(store_failed("remove", code));
        }
        Ok(())
    }

    fn keys(&self) -> Result<Vec<String>, SecretError> {
        // SAFETY: as above.
        let (code, buf) = dms_buffer::fill(|b| unsafe { (self.keys)(self.host.0.user_data, b) });
        if code != 0 {
            return Err(store_failed("list its keys", code));
        }
        if !buf.set {
            return Ok(Vec::new());
        }
        serde_json::from_slice(&buf.data).map_err(|e| {
            SecretError(format!(
                "the host's secret store listed its keys as something other than a JSON array of strings: {e}"
            ))
        })
    }
}

/// The secret store of `h`, if it has one: all four callbacks or none
/// (else `DMS_INVALID_ARGUMENT`).
pub(crate) fn secret_store(
    h: Option<&dms_agent_host>,
    host: Option<&Arc<CHost>>,
) -> Result<Option<Arc<dyn SecretStore>>, dms_status> {
    let (Some(h), Some(host)) = (h, host) else {
        return Ok(None);
    };
    let s = h.secrets;
    match (s.get, s.put, s.remove, s.keys) {
        (None, None, None, None) => Ok(None),
        (Some(get), Some(put), Some(remove), Some(keys)) => Ok(Some(Arc::new(CSecrets {
            host: host.clone(),
            get,
            put,
            remove,
            keys,
        }))),
        _ => Err(fail(
            dms_status::DMS_INVALID_ARGUMENT,
            "host->secrets: set all four callbacks (get, put, remove, keys) or none",
        )),
    }
}
