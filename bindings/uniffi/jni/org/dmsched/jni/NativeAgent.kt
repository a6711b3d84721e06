package org.dmsched.jni

import java.util.concurrent.atomic.AtomicLong

/**
 * The agent (full-client mode: DM tree, engine, Scheduling MO, DM client and
 * HTTPS over one state directory) through a direct JNI surface, for Android
 * system services that cannot use JNA (apps use the UniFFI `org.dmsched.Agent`).
 * The same native library (`libdmsched_uniffi`) serves both.
 *
 * Instants are Unix milliseconds. Results are JSON strings: firings and
 * schedules in the shapes of the C ABI (as [NativeEngine]); the DM records
 * with snake_case fields. Failures throw [DmschedNativeException] (`kind`
 * `InvalidArgument` for a bad argument, `NoAccount` for an unknown server,
 * `NotificationRefused`, `SessionDeclined`, `SessionRejected`, `Protocol`,
 * `Transport` for a server that cannot be reached, `AlreadyExists`,
 * `Storage`, `Closed` …);
 * a bug in the library throws a plain `RuntimeException`: nothing aborts the VM.
 *
 * Threads: any thread. [runSession] and [deliverReports] block for whole
 * sessions (network): never call them on the main thread. Callbacks run on the calling thread and
 * must not call back into the agent (that call throws `ReentrantCall`).
 * [close] releases the agent (later calls throw `Closed`).
 */
class NativeAgent private constructor(handle: Long) : AutoCloseable {
    private val handle = AtomicLong(handle)

    private fun h(): Long = handle.get().also {
        if (it == 0L) throw DmschedNativeException("Closed", "the agent is closed")
    }

    /**
     * Provisions a DM account from its JSON form (`server_id`, `server_url`,
     * `client` {`auth`, `name`, `secret`, `nonce`}, optional `server`) with the
     * server's TLS trust anchor [caPem] (null: public roots); returns the server id.
     */
    fun provision(accountJson: String, caPem: String?, nowMs: Long): String =
        nativeProvision(h(), accountJson, caPem, nowMs)

    /**
     * Checks a package #0 (well-formed, for a provisioned server, authentic, not
     * a replay) and returns the proof to hand to [runSession]
     * ([NativeNotification.infoJson] says what it asks for; close it when
     * done). Durable: the same bytes are refused (`NotificationRefused`) from
     * now on.
     */
    fun acceptNotification(bytes: ByteArray, nowMs: Long): NativeNotification =
        NativeNotification(nativeAcceptNotification(h(), bytes, nowMs))

    /**
     * Runs one DM session with [serverId] (blocking): client-initiated when
     * [notification] is null, else the session the accepted package #0 asks
     * for. Returns `{"server_id", "sent", "received", "statuses": [{"command",
     * "code"}], "alerts_delivered", "aborted", "notification"}` (the same JSON
     * as the C ABI's).
     */
    fun runSession(serverId: String, notification: NativeNotification?, nowMs: Long): String =
        nativeRunSession(h(), serverId, notification?.handle() ?: 0L, nowMs)

    /** Runs everything due at [nowMs]; returns the finished occurrences as a JSON array. */
    fun tick(nowMs: Long): String = nativeTick(h(), nowMs)

    /** The device changed time zone ([zone]: an IANA name); tasks using `local` are re-planned. */
    fun setTimeZone(zone: String, nowMs: Long) = nativeSetTimeZone(h(), zone, nowMs)

    /**
     * Hand-off mode: completes run [runId] that the [NativeExecutor] left
     * running (it returned `"pending"`), as [NativeEngine.complete].
     */
    fun complete(runId: Long, resultsJson: String, nowMs: Long): String = nativeComplete(h(), runId, resultsJson, nowMs)

    /**
     * The earliest instant at which [tick] or [deliverReports] has work (a due
     * run, reports to deliver at once, a delivery retry), or [NO_WAKEUP].
     */
    fun nextWakeup(): Long = nativeNextWakeup(h())

    /**
     * For an inexact alarm (WorkManager): `[earliestMs, latestMs]`, any instant
     * of which is a good time to [tick] / [deliverReports] (the engine's window,
     * narrowed to reports due at once); null when nothing is scheduled by time.
     */
    fun wakeupWindow(): LongArray? = nativeWakeupWindow(h())

    /**
     * Delivers the reports whose task asks for immediate delivery
     * (`policy.report_delivery: "immediate"`): one session (blocking) with each
     * server that has such reports waiting, unless a failed attempt put it off
     * past [nowMs]; failures are retried with the `report_retry` backoff (see
     * [nextWakeup]). Returns a JSON array with one `{"server_id", "delivered",
     * "error" (null on success), "retry_at_ms" (null on success), "attempts"}`
     * per server tried; a failed session is an entry, not a throw.
     */
    fun deliverReports(nowMs: Long): String = nativeDeliverReports(h(), nowMs)

    /** The servers with reports for immediate delivery waiting, as a JSON array of server ids. */
    fun reportsToDeliver(): String = nativeReportsToDeliver(h())

    /** A device event ([fieldsJson]: a JSON object, or null); returns the firings. */
    fun postEvent(name: String, fieldsJson: String?, nowMs: Long): String = nativePostEvent(h(), name, fieldsJson, nowMs)

    /**
     * Sets a device-owned tree leaf to [valueJson] (`true`, `3`, `2.5`, `"text"`:
     * its format follows), creating it if absent; returns the firings it caused.
     */
    fun setValue(uri: String, valueJson: String, nowMs: Long): String = nativeSetValue(h(), uri, valueJson, nowMs)

    /** Every schedule on the device, as a JSON array. */
    fun schedules(): String = nativeSchedules(h())

    /**
     * The user's choices for schedule [id] of [serverId] (personalisation):
     * [choicesJson] is a JSON object of parameter id to a window
     * `{"start": "HH:MM", "end": "HH:MM"}`, seconds, or `true`/`false`; a
     * parameter left out is back to the server's default. Out of bounds
     * throws (`invalid_schedule`), nothing changed. The server is told with
     * its next session. Returns the schedule as JSON.
     */
    fun personalize(serverId: String, id: String, choicesJson: String, nowMs: Long): String =
        nativePersonalize(h(), serverId, id, choicesJson, nowMs)

    /**
     * The Scheduling reports waiting for [serverId]: a JSON array of `{"id",
     * "owner", "source", "meta_type", "mark", "data", "evicted"}` (`evicted`: 0,
     * except in the report of how many reports the full queue dropped); they go
     * with its next session.
     */
    fun pendingReports(serverId: String): String = nativePendingReports(h(), serverId)

    /** Releases the agent and its database; twice is harmless. */
    override fun close() {
        val h = handle.getAndSet(0L)
        if (h != 0L) nativeClose(h)
    }

    companion object {
        /** [nextWakeup] when nothing is scheduled by time. */
        const val NO_WAKEUP: Long = Long.MIN_VALUE

        /**
         * Opens (creating) the agent. [settingsJson]: `{"state_dir", "device":
         * {"dev_id", "man", "model", "lang", "dev_typ", "oem", "fw_v", "sw_v",
         * "hw_v", "lrg_obj"}, "time_zone", "options": {engine settings},
         * "http_timeout_ms", "mo": {"root", "mo_type", "report_type", "state_type",
         * "root_acl"}, "report_retry": {"first_seconds", "max_seconds"}}` (only
         * `state_dir` and `device.dev_id` required; each `mo` key optional; both
         * `report_retry` keys, when it is given). Each callback may be null; with
         * an [executor] (hand-off mode) scheduled DM commands run through it
         * instead of the agent's tree; [secrets] keeps the accounts' passwords
         * and nonces (default: `dmsched.db.secrets`, 0600, in `state_dir`).
         */
        @JvmStatic
        @JvmOverloads
        fun open(
            settingsJson: String,
            nowMs: Long,
            ui: NativeUserInteraction?,
            prompt: NativePrompt?,
            authorizer: NativeAuthorizer?,
            executor: NativeExecutor? = null,
            secrets: NativeSecretStore? = null,
        ): NativeAgent = NativeAgent(nativeOpen(settingsJson, nowMs, ui, prompt, authorizer, executor, secrets))

        @JvmStatic private external fun nativeOpen(
            settingsJson: String, nowMs: Long, ui: NativeUserInteraction?, prompt: NativePrompt?, authorizer: NativeAuthorizer?,
            executor: NativeExecutor?, secrets: NativeSecretStore?,
        ): Long
        @JvmStatic private external fun nativeClose(handle: Long)
        @JvmStatic private external fun nativeProvision(handle: Long, accountJson: String, caPem: String?, nowMs: Long): String
        @JvmStatic private external fun nativeAcceptNotification(handle: Long, bytes: ByteArray, nowMs: Long): Long
        @JvmStatic private external fun nativeRunSession(handle: Long, serverId: String, notification: Long, nowMs: Long): String
        @JvmStatic private external fun nativeTick(handle: Long, nowMs: Long): String
        @JvmStatic private external fun nativeSetTimeZone(handle: Long, zone: String, nowMs: Long)
        @JvmStatic private external fun nativeComplete(handle: Long, runId: Long, resultsJson: String, nowMs: Long): String
        @JvmStatic private external fun nativeNextWakeup(handle: Long): Long
        @JvmStatic private external fun nativeWakeupWindow(handle: Long): LongArray?
        @JvmStatic private external fun nativePostEvent(handle: Long, name: String, fieldsJson: String?, nowMs: Long): String
        @JvmStatic private external fun nativeSetValue(handle: Long, uri: String, valueJson: String, nowMs: Long): String
        @JvmStatic private external fun nativeSchedules(handle: Long): String
        @JvmStatic private external fun nativePersonalize(handle: Long, serverId: String, id: String, choicesJson: String, nowMs: Long): String
        @JvmStatic private external fun nativePendingReports(handle: Long, serverId: String): String
        @JvmStatic private external fun nativeDeliverReports(handle: Long, nowMs: Long): String
        @JvmStatic private external fun nativeReportsToDeliver(handle: Long): String
    }
}
