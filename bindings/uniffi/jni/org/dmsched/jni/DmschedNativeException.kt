package org.dmsched.jni

/**
 * An SDK error through the JNI bridge. [kind] is the name of the core's
 * `ErrorKind` — the same table as C's `dms_status` and the UniFFI
 * `DmschedException` subclasses: `InvalidArgument`, `Closed` (closed, never
 * issued or wrong-kind handle), `ReentrantCall`, `Internal`,
 * `InvalidSchedule`, `NotFound`, `AlreadyExists`, `PermissionDenied`,
 * `LimitExceeded`, `InvalidState`, `Storage`, `CorruptStore`,
 * `IncompatibleStore`, `NoAccount`, `NotificationRefused`, `SessionDeclined`,
 * `SessionRejected`, `Protocol`, `Transport`; the message (the same text as
 * C's `dms_last_error()`) says what and where (for `InvalidSchedule`, one
 * `JSON-path: message` per line).
 */
class DmschedNativeException(val kind: String, message: String) : RuntimeException(message)
