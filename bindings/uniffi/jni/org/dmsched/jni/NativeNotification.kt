package org.dmsched.jni

import java.util.concurrent.atomic.AtomicLong

/**
 * A package #0 that passed every check ([NativeAgent.acceptNotification]): an
 * opaque proof only that call makes; hand it to [NativeAgent.runSession].
 * [close] releases it (later use throws `Closed`; twice is harmless).
 */
class NativeNotification internal constructor(handle: Long) : AutoCloseable {
    private val handle = AtomicLong(handle)

    internal fun handle(): Long = handle.get().also {
        if (it == 0L) throw DmschedNativeException("Closed", "the notification is closed")
    }

    /**
     * What it asks for: `{"server_id", "session_id", "ui_mode", "initiator",
     * "version", "vendor", "used_resync_nonce"}` (`ui_mode`: `not_specified`,
     * `background`, `informative`, `user_interaction`).
     */
    val infoJson: String get() = nativeInfo(handle())

    override fun close() {
        val h = handle.getAndSet(0L)
        if (h != 0L) nativeRelease(h)
    }

    private companion object {
        @JvmStatic external fun nativeInfo(handle: Long): String
        @JvmStatic external fun nativeRelease(handle: Long)
    }
}
