//! The FFI boundary: panics caught, the last error kept per thread, C
//! strings in and out, handles as registry ids.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use dmsched_core::registry::HandleError;

use crate::status::dms_status;

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

/// Writes `s` as a new C string into `*out` (if `out` is not NULL).
///
/// # Safety
/// `out` is NULL or valid for one pointer write.
pub(crate) unsafe fn put_string(out: *mut *mut c_char, s: String) {
    if out.is_null() {
        return;
    }
    if s == "[]" {
        // SAFETY: as below.
        unsafe { *out = EMPTY_ARRAY.as_ptr().cast_mut() };
        return;
    }
    let c = CString::new(s.replace('\0', "")).unwrap_or_default();
    // SAFETY: `out` is valid for writes per the caller's contract.
    unsafe { *out = c.into_raw() };
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
