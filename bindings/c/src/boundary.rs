//! The FFI boundary: panics caught, the last error kept per thread, C
//! arguments in and results out, handles as registry ids.
//!
//! As in rustls-ffi, the entry points hold no `unsafe` blocks: the reads of
//! C arguments and writes of out-parameters are the macros below (the
//! pointers' validity is every entry point's documented contract), and a
//! core error converts to its `dms_status` with `?`.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use std::sync::Arc;

use dmsched_core::registry::{HandleError, Registry};

use crate::status::dms_status;

/// A C argument, converted; on failure the enclosing closure returns its
/// `dms_status` (`DMS_INVALID_ARGUMENT`, the argument named in
/// `dms_last_error`).
///
/// - `arg!(p)`: a required C string; `arg!(p?)`: optional (NULL → `None`);
/// - `arg!(server p)` / `arg!(server p?)`: a server id (`dmsched::input`);
///   `arg!(schedule p)`: a schedule id; `arg!(uri p)`: a tree URI;
///   `arg!(text p)`: a short text (zone, device id);
/// - `arg!(slice p, len)`: `len` items at `p` (NULL only when `len` is 0);
/// - `arg!(out p)`: a required out-parameter (checked, not written);
///   `arg!(mut p)`: a required in-out struct, as `&mut`;
/// - `arg!(expr => "name")`, `arg!(expr => "name", ?)`: a string member of a
///   host-filled struct; `arg!(sized p, min, v1)`: such a struct
///   ([`read_sized`]).
macro_rules! arg {
    ($p:ident) => {
        // SAFETY: every entry point's contract: NULL or a NUL-terminated
        // string valid for the call.
        unsafe { $crate::boundary::arg($p, stringify!($p)) }?
    };
    ($p:ident ?) => {
        // SAFETY: as above.
        unsafe { $crate::boundary::opt_arg($p, stringify!($p)) }?
    };
    (server $p:ident) => {
        dmsched_core::input::server_id(arg!($p), stringify!($p))?
    };
    (server $p:ident ?) => {
        match arg!($p?) {
            Some(s) => Some(dmsched_core::input::server_id(s, stringify!($p))?),
            None => None,
        }
    };
    (schedule $p:ident) => {
        dmsched_core::input::schedule_id(arg!($p), stringify!($p))?
    };
    (uri $p:ident) => {
        dmsched_core::input::tree_uri(arg!($p), stringify!($p))?
    };
    (text $p:ident) => {
        dmsched_core::input::short_text(arg!($p), stringify!($p))?
    };
    (slice $p:ident, $len:ident) => {
        // SAFETY: the contract: NULL, or valid for `$len` items.
        unsafe { $crate::boundary::slice($p, $len, stringify!($p)) }?
    };
    ($p:expr => $name:expr) => {
        // SAFETY: as above (a member of a struct the host filled).
        unsafe { $crate::boundary::arg($p, $name) }?
    };
    ($p:expr => $name:expr, ?) => {
        // SAFETY: as above.
        unsafe { $crate::boundary::opt_arg($p, $name) }?
    };
    (sized $p:ident, $min:expr, $v1:expr) => {
        // SAFETY: the contract: a struct that starts with its
        // `struct_size`, valid for that many bytes.
        unsafe { $crate::boundary::read_sized($p, stringify!($p), $min, $v1) }?
    };
    (mut $p:ident) => {{
        arg!(out $p);
        // SAFETY: non-null; the contract: valid and unaliased for the call.
        unsafe { &mut *$p }
    }};
    (out $p:ident) => {
        if $p.is_null() {
            return Err($crate::boundary::fail(
                $crate::status::dms_status::DMS_INVALID_ARGUMENT,
                concat!(stringify!($p), " is NULL"),
            ));
        }
    };
}

/// Writes `v` to the out-parameter `p` when `p` is not NULL.
macro_rules! put {
    ($p:expr, $v:expr) => {{
        let (p, v) = ($p, $v);
        if !p.is_null() {
            // SAFETY: the contract: NULL or valid for one write.
            unsafe { *p = v };
        }
    }};
}

/// A handle issued for `v` in `reg` (a new id), or `DMS_LIMIT_EXCEEDED`.
pub(crate) fn issue<T, H>(reg: &Registry<T>, v: Arc<T>) -> Result<*mut H, dms_status> {
    let id = reg.insert(v).map_err(handle_err)?;
    id_handle(id).ok_or_else(|| {
        // Only where pointers are narrower than ids (2^28 handles on a
        // 32-bit target): the object is released before the host sees it.
        let _ = reg.remove(id);
        fail(
            dms_status::DMS_LIMIT_EXCEEDED,
            format!(
                "no {} handle left to issue on this target",
                reg.kind().name()
            ),
        )
    })
}

/// The object behind handle `h`, or `DMS_INVALID_HANDLE` (NULL, closed,
/// never issued, or another kind's).
pub(crate) fn get<T, H>(reg: &Registry<T>, h: *const H) -> Result<Arc<T>, dms_status> {
    reg.get(handle_id(h)).map_err(handle_err)
}

/// `len` items at `p` (NULL only when `len` is 0).
///
/// # Safety
/// `p` is NULL or valid for `len` items for the call.
pub(crate) unsafe fn slice<'a, T>(
    p: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], dms_status> {
    match (p.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(fail(
            dms_status::DMS_INVALID_ARGUMENT,
            format!("{name} is NULL"),
        )),
        // SAFETY: non-null and valid for `len` items (the contract).
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(p, len) }),
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// The JSON `[]` every function returns for an empty array: static, so an
/// idle `dms_engine_tick` allocates nothing; `dms_string_free` knows it.
pub(crate) const EMPTY_ARRAY: &CStr = c"[]";

/// Records `msg` as the calling thread's last error and returns `status`.
pub(crate) fn fail(status: dms_status, msg: impl Into<String>) -> dms_status {
    let mut m = msg.into();
    m.retain(|c| c != '\0');
    LAST_ERROR.with(|e| *e.borrow_mut() = CString::new(m).unwrap_or_default());
    status
}

/// The calling thread's last error message (valid until its next failing call).
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Runs `f`, turning a panic into `DMS_INTERNAL`: nothing unwinds into C.
pub(crate) fn guard(f: impl FnOnce() -> dms_status) -> dms_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(s) => s,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            fail(
                dms_status::DMS_INTERNAL,
                format!("internal error (caught panic): {what}"),
            )
        }
    }
}

/// Frees a string this library returned (NULL and the static `[]` are no-ops).
pub(crate) fn free_string(s: *mut c_char) {
    if !s.is_null() && !std::ptr::eq(s.cast_const(), EMPTY_ARRAY.as_ptr()) {
        // SAFETY: made by CString::into_raw in this library and not yet
        // freed (`dms_string_free`'s contract).
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Runs `f` under [`guard`]: its error is the status.
pub(crate) fn call(f: impl FnOnce() -> Result<(), dms_status>) -> dms_status {
    guard(|| f().err().unwrap_or(dms_status::DMS_OK))
}

/// The registry id a handle stands for. Handles are ids, never
/// dereferenced: a stale or forged one is only a number that names nothing.
pub(crate) fn handle_id<T>(h: *const T) -> u64 {
    h.addr() as u64
}

/// The handle for registry id `id`, if a pointer can hold it on this target.
pub(crate) fn id_handle<T>(id: u64) -> Option<*mut T> {
    usize::try_from(id)
        .ok()
        .map(std::ptr::without_provenance_mut)
}

/// A handle the registry refused: `DMS_INVALID_HANDLE` (NULL, closed, never
/// issued, or another kind of handle), with the reason as the message.
pub(crate) fn handle_err(e: HandleError) -> dms_status {
    let status = match e {
        HandleError::Exhausted(_) => dms_status::DMS_LIMIT_EXCEEDED,
        _ => dms_status::DMS_INVALID_HANDLE,
    };
    fail(status, e.to_string())
}

/// A required C string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the call.
pub(crate) unsafe fn arg<'a>(p: *const c_char, name: &str) -> Result<&'a str, dms_status> {
    if p.is_null() {
        return Err(fail(
            dms_status::DMS_INVALID_ARGUMENT,
            format!("{name} is NULL"),
        ));
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| {
        fail(
            dms_status::DMS_INVALID_ARGUMENT,
            format!("{name} is not UTF-8"),
        )
    })
}

/// An optional C string argument (NULL → None).
///
/// # Safety
/// As [`arg`].
pub(crate) unsafe fn opt_arg<'a>(
    p: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, dms_status> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { arg(p, name) }.map(Some)
    }
}

/// Writes `s` as a new C string into `*out` (if `out` is not NULL; the
/// entry points' contract: NULL or valid for one pointer write).
pub(crate) fn put_string(out: *mut *mut c_char, s: String) {
    if out.is_null() {
        return;
    }
    if s == "[]" {
        put!(out, EMPTY_ARRAY.as_ptr().cast_mut());
        return;
    }
    put!(
        out,
        CString::new(s.replace('\0', ""))
            .unwrap_or_default()
            .into_raw()
    );
}

/// A host-filled struct that starts with `uint32_t struct_size`: the
/// host's bytes (`struct_size` of them) over a zeroed `T`, so a host
/// compiled against an older header (fewer members, at least `min_size`
/// bytes) gets the defaults of the members it does not know. A
/// `struct_size` of 0 (a zeroed struct whose size was never set) is read as
/// the 0.1 layout, `v1_size` bytes: that is what such a program was
/// compiled with if it was built against 0.1, and a later header keeps
/// those members where they are. A larger `struct_size` (a newer header)
/// is accepted when the members this library does not know are all zero,
/// and refused otherwise.
///
/// # Safety
/// `p` is non-null and valid for `struct_size` bytes; `T` is a `repr(C)`
/// struct of pointers, optional function pointers and integers (all-zero
/// is a valid value of each).
pub(crate) unsafe fn read_sized<T: Copy>(
    p: *const T,
    what: &str,
    min_size: usize,
    v1_size: usize,
) -> Result<T, dms_status> {
    let full = std::mem::size_of::<T>();
    // SAFETY: the struct starts with a u32 (the contract).
    let size = match unsafe { std::ptr::read_unaligned(p.cast::<u32>()) } as usize {
        0 => v1_size,
        n => n,
    };
    if size < min_size {
        return Err(fail(
            dms_status::DMS_INVALID_ARGUMENT,
            format!(
                "{what}->struct_size is {size}: set it to sizeof the struct ({full} bytes in this version, at least {min_size})"
            ),
        ));
    }
    if size > full {
        // SAFETY: valid for `size` bytes (the contract).
        let newer = unsafe { std::slice::from_raw_parts(p.cast::<u8>().add(full), size - full) };
        if newer.iter().any(|b| *b != 0) {
            return Err(fail(
                dms_status::DMS_INVALID_ARGUMENT,
                format!(
                    "{what} was built against a newer header (struct_size {size} > {full}) and sets members this library does not know"
                ),
            ));
        }
    }
    let mut out = std::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: `min(size, full)` bytes are readable at `p` and writable in
    // `out`; all-zero, then the host's bytes, is a valid `T` (the contract).
    unsafe {
        std::ptr::copy_nonoverlapping(
            p.cast::<u8>(),
            out.as_mut_ptr().cast::<u8>(),
            size.min(full),
        );
        Ok(out.assume_init())
    }
}
