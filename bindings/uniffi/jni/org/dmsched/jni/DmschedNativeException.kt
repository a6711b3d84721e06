package org.dmsched.jni

/**
 * An engine error through the JNI bridge. [kind] is one of `InvalidArgument`,
 * `InvalidSchedule`, `NotFound`, `AlreadyExists`, `PermissionDenied`,
 * `LimitExceeded`, `InvalidState`, `Storage`, `Protocol` (a DM session failed),
 * `Internal`, `Closed`; the message says what
 * and where (for `InvalidSchedule`, one `JSON-path: message` per line).
 */
class DmschedNativeException(val kind: String, message: String) : RuntimeException(message)
