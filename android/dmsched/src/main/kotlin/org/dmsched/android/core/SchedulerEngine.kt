// Pure Kotlin: no android.* imports (compiled and tested on the host JVM).
package org.dmsched.android.core

/**
 * When the engine next has work: any instant in [earliestMs, latestMs]
 * (Unix ms) is an acceptable moment to call `tick`. An engine that cannot
 * tolerate delay reports `earliestMs == latestMs`.
 */
data class WakeupWindow(val earliestMs: Long, val latestMs: Long) {
    init {
        require(latestMs >= earliestMs) { "wake-up window ends ($latestMs) before it starts ($earliestMs)" }
    }

    /** How much slack the window allows, in ms. */
    val widthMs: Long get() = latestMs - earliestMs
}

/**
 * The scheduling engine as [DmScheduler] needs it. Implemented on Android by
 * `UniffiSchedulerEngine` (over `org.dmsched.Engine`) and
 * `NativeSchedulerEngine` (over the JNI `org.dmsched.jni.NativeEngine`), and by
 * fakes in the host tests. `F` is the adapter's type of a finished occurrence.
 *
 * Every method may throw; [DmScheduler] logs the failure and arms a retry.
 * Implementations must be callable from any thread ([DmScheduler] serialises
 * its own calls).
 */
interface SchedulerEngine<out F> {
    /** The next wake-up window, or null when nothing is due. */
    fun wakeupWindow(): WakeupWindow?

    /** Runs everything due at [nowMs]. */
    fun tick(nowMs: Long): List<F>

    /** A device event; [fieldsJson] is a JSON object or null. */
    fun postEvent(name: String, fieldsJson: String?, nowMs: Long): List<F>

    /** DM-tree node [uri] changed. */
    fun treeChanged(uri: String, nowMs: Long): List<F>

    /** The device's IANA time zone changed to [zone]. */
    fun setTimeZone(zone: String, nowMs: Long)
}
