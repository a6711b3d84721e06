// Pure Kotlin: no android.* imports (compiled and tested on the host JVM).
package org.dmsched.android.core

/**
 * One OS wake-up that calls [DmScheduler.tick] when it goes off. Each arm
 * replaces whatever was armed before (there is never more than one), and
 * [cancel] removes it. Implemented by `AlarmManagerWakeupAlarm` and
 * `WorkManagerWakeupAlarm` on Android, by fakes in the host tests.
 */
interface WakeupAlarm {
    /** Whether [armExact] is permitted now (Android 12+: SCHEDULE_EXACT_ALARM / USE_EXACT_ALARM). */
    fun canArmExact(): Boolean

    /** Wake at [atMs] (Unix ms), even in Doze. May throw if exact alarms are not permitted. */
    fun armExact(atMs: Long)

    /** Wake at some instant in [earliestMs, latestMs] (Unix ms), as the OS sees fit. */
    fun armInexact(earliestMs: Long, latestMs: Long)

    /** Nothing is due: remove the armed wake-up, if any. */
    fun cancel()
}

/**
 * Exact wake-ups through [exact] (AlarmManager), inexact ones through
 * [inexact] (e.g. WorkManager); arming one cancels the other, so at most one
 * wake-up is armed across both.
 */
class HybridWakeupAlarm(private val exact: WakeupAlarm, private val inexact: WakeupAlarm) : WakeupAlarm {
    override fun canArmExact(): Boolean = exact.canArmExact()

    override fun armExact(atMs: Long) {
        exact.armExact(atMs)
        inexact.cancel()
    }

    override fun armInexact(earliestMs: Long, latestMs: Long) {
        inexact.armInexact(earliestMs, latestMs)
        exact.cancel()
    }

    override fun cancel() {
        exact.cancel()
        inexact.cancel()
    }
}
