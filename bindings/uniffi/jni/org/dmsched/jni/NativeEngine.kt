package org.dmsched.jni

import java.util.concurrent.atomic.AtomicLong

/**
 * The scheduling engine through a direct JNI surface, for Android system
 * services that cannot use JNA (apps use the UniFFI `org.dmsched.Engine`).
 * The same native library (`libdmsched_uniffi`) serves both.
 *
 * Instants are Unix milliseconds. Results are JSON strings in the shapes of
 * the C ABI. Failures throw [DmschedNativeException]; a bug in the library
 * throws a plain `RuntimeException`: nothing aborts the VM.
 *
 * Threads: any thread; calls are serialised; an idle [tick] and [nextWakeup]
 * take no lock. [close] releases the engine (later calls throw `Closed`).
 */
class NativeEngine private constructor(handle: Long) : AutoCloseable {
    private val handle = AtomicLong(handle)

    private fun h(): Long = handle.get().also {
        if (it == 0L) throw DmschedNativeException("Closed", "the engine is closed")
    }

    /** Verifies and stores a schedule for server [owner]; returns its state. Durable when it returns. */
    fun submit(owner: String, scheduleJson: String, nowMs: Long): String = nativeSubmit(h(), owner, scheduleJson, nowMs)

    /** Replaces a live schedule's document on behalf of [requester]. */
    fun modify(requester: String, owner: String, scheduleJson: String, nowMs: Long): String =
        nativeModify(h(), requester, owner, scheduleJson, nowMs)

    fun suspend(requester: String, owner: String, id: String, nowMs: Long): String =
        nativeLifecycle(h(), requester, owner, id, 0, nowMs)

    fun resume(requester: String, owner: String, id: String, nowMs: Long): String =
        nativeLifecycle(h(), requester, owner, id, 1, nowMs)

    fun terminate(requester: String, owner: String, id: String, nowMs: Long): String =
        nativeLifecycle(h(), requester, owner, id, 2, nowMs)

    fun get(requester: String, owner: String, id: String): String = nativeGet(h(), requester, owner, id)

    /** The schedules [requester] may read (every schedule when null), as a JSON array. */
    fun list(requester: String?): String = nativeList(h(), requester)

    /** Runs everything due at [nowMs]; returns the finished occurrences as a JSON array. */
    fun tick(nowMs: Long): String = nativeTick(h(), nowMs)

    /**
     * Completes run [runId] that [NativeHost.execute] left running (it returned
     * `"pending"`) with [resultsJson] (a JSON array of `{"op", "target",
     * "status", "data"?}`): the attempt ends as if `execute` had returned them.
     * Returns the finished occurrences (a JSON array). A run that is not
     * waiting: `InvalidState`.
     */
    fun complete(runId: Long, resultsJson: String, nowMs: Long): String = nativeComplete(h(), runId, resultsJson, nowMs)

    /** The earliest instant at which [tick] has work, or [NO_WAKEUP]. */
    fun nextWakeup(): Long = nativeNextWakeup(h())

    /**
     * For an inexact alarm (WorkManager): `[earliestMs, latestMs]`, any instant
     * of which is a good time to [tick] (waking at the latest runs every waiting
     * task with the fewest wake-ups); null when nothing is scheduled by time.
     */
    fun wakeupWindow(): LongArray? = nativeWakeupWindow(h())

    /** A device event ([fieldsJson]: a JSON object, or null). */
    fun postEvent(name: String, fieldsJson: String?, nowMs: Long): String = nativePostEvent(h(), name, fieldsJson, nowMs)

    fun treeChanged(uri: String, nowMs: Long): String = nativeTreeChanged(h(), uri, nowMs)

    fun setTimeZone(zone: String, nowMs: Long) = nativeSetTimeZone(h(), zone, nowMs)

    /** `{"reports": [{"id", "report_id", "created", "firing"}], "dropped": n}` (`report_id`: the report's stable identifier) for [owner] (every owner when null), oldest first. */
    fun pendingReports(owner: String?, limit: Int): String = nativePendingReports(h(), owner, limit)

    /**
     * The user's choices for schedule [id] of [owner] (personalisation), from
     * the host (a settings screen): a JSON object of parameter id to a window
     * `{"start": "HH:MM", "end": "HH:MM"}`, seconds, or `true`/`false`. Out of
     * bounds throws (`invalid_schedule`), nothing changed.
     */
    fun personalize(owner: String, id: String, choicesJson: String, nowMs: Long): String =
        nativePersonalize(h(), owner, id, choicesJson, nowMs)

    /** [owner]'s server received these reports; returns how many were removed. */
    fun ackReports(owner: String, ids: LongArray): Long = nativeAckReports(h(), owner, ids)

    /** Releases the engine and its store; twice is harmless. */
    override fun close() {
        val h = handle.getAndSet(0L)
        if (h != 0L) nativeClose(h)
    }

    companion object {
        /** [nextWakeup] when nothing is scheduled by time. */
        const val NO_WAKEUP: Long = Long.MIN_VALUE

        /** Opens an engine on a store (`":memory:"` for a private one) and restores its schedules. */
        @JvmStatic
        fun open(storePath: String, deviceId: String, timeZone: String, optionsJson: String?, host: NativeHost): NativeEngine =
            NativeEngine(nativeOpen(storePath, deviceId, timeZone, optionsJson, host))

        /**
         * Panics inside the native library on purpose: on a correct build this
         * throws a `RuntimeException` whose message names the panic. Use it in a
         * device integration test to check that panics never abort the process.
         */
        @JvmStatic
        fun selfTestPanic() = nativeSelfTestPanic()

        @JvmStatic private external fun nativeSelfTestPanic()
        @JvmStatic private external fun nativeOpen(storePath: String, deviceId: String, timeZone: String, optionsJson: String?, host: NativeHost): Long
        @JvmStatic private external fun nativeClose(handle: Long)
        @JvmStatic private external fun nativeSubmit(handle: Long, owner: String, scheduleJson: String, nowMs: Long): String
        @JvmStatic private external fun nativeModify(handle: Long, requester: String, owner: String, scheduleJson: String, nowMs: Long): String
        @JvmStatic private external fun nativeLifecycle(handle: Long, requester: String, owner: String, id: String, action: Int, nowMs: Long): String
        @JvmStatic private external fun nativeGet(handle: Long, requester: String, owner: String, id: String): String
        @JvmStatic private external fun nativeList(handle: Long, requester: String?): String
        @JvmStatic private external fun nativeTick(handle: Long, nowMs: Long): String
        @JvmStatic private external fun nativeComplete(handle: Long, runId: Long, resultsJson: String, nowMs: Long): String
        @JvmStatic private external fun nativeNextWakeup(handle: Long): Long
        @JvmStatic private external fun nativeWakeupWindow(handle: Long): LongArray?
        @JvmStatic private external fun nativePostEvent(handle: Long, name: String, fieldsJson: String?, nowMs: Long): String
        @JvmStatic private external fun nativeTreeChanged(handle: Long, uri: String, nowMs: Long): String
        @JvmStatic private external fun nativeSetTimeZone(handle: Long, zone: String, nowMs: Long)
        @JvmStatic private external fun nativePendingReports(handle: Long, owner: String?, limit: Int): String
        @JvmStatic private external fun nativePersonalize(handle: Long, owner: String, id: String, choicesJson: String, nowMs: Long): String
        @JvmStatic private external fun nativeAckReports(handle: Long, owner: String, ids: LongArray): Long
    }
}
