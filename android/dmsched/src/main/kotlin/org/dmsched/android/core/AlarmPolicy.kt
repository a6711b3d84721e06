// Pure Kotlin: no android.* imports (compiled and tested on the host JVM).
package org.dmsched.android.core

/** What [DmScheduler] armed (or asked to arm) last. */
sealed interface Arming {
    /** An exact wake-up at [atMs]. */
    data class Exact(val atMs: Long) : Arming

    /** An inexact wake-up anywhere in [earliestMs, latestMs]. */
    data class Inexact(val earliestMs: Long, val latestMs: Long) : Arming

    /** Nothing armed: nothing is due. */
    data object None : Arming
}

/** When exact alarms are used. */
enum class ExactMode {
    /** Exact only when the engine's window is narrower than [AlarmPolicy.exactSlackMs] (default: saves battery). */
    WHEN_NEEDED,

    /** Exact whenever permitted (devices that must be punctual, e.g. system services). */
    ALWAYS,

    /** Never exact (e.g. WorkManager only): the OS may run late by minutes. */
    NEVER,
}

/**
 * Turns the engine's wake-up window into one [Arming].
 *
 * @param exactSlackMs windows narrower than this need an exact alarm
 *   (Android batches inexact alarms by minutes; API 31+ stretches windows
 *   shorter than 10 minutes).
 * @param stuckDelayMs if the engine is still due right after a tick, wait
 *   this long before the next tick instead of spinning.
 * @param retryBaseMs first retry delay after an engine failure; doubles per
 *   consecutive failure up to [retryMaxMs].
 */
class AlarmPolicy(
    val mode: ExactMode = ExactMode.WHEN_NEEDED,
    val exactSlackMs: Long = 60_000,
    val stuckDelayMs: Long = 60_000,
    val retryBaseMs: Long = 30_000,
    val retryMaxMs: Long = 30 * 60_000,
) {
    init {
        require(exactSlackMs >= 0 && stuckDelayMs > 0 && retryBaseMs > 0 && retryMaxMs >= retryBaseMs) {
            "invalid alarm policy"
        }
    }

    /**
     * The arming for [window] at [nowMs]. A window already begun starts now
     * (or [stuckDelayMs] from now when [justTicked]: the engine did not clear
     * it, so ticking again at once would spin).
     */
    fun decide(nowMs: Long, window: WakeupWindow?, canExact: Boolean, justTicked: Boolean): Arming {
        if (window == null) return Arming.None
        val start = when {
            window.earliestMs > nowMs -> window.earliestMs
            justTicked -> nowMs + stuckDelayMs
            else -> nowMs
        }
        val end = maxOf(window.latestMs, start)
        val exact = canExact && when (mode) {
            ExactMode.ALWAYS -> true
            ExactMode.NEVER -> false
            ExactMode.WHEN_NEEDED -> end - start < exactSlackMs
        }
        return if (exact) Arming.Exact(start) else Arming.Inexact(start, end)
    }

    /** The retry window after [failures] (≥ 1) consecutive engine failures. */
    fun retryWindow(nowMs: Long, failures: Int): WakeupWindow {
        val shift = (failures - 1).coerceIn(0, 30)
        val delay = minOf(retryBaseMs shl shift, retryMaxMs).let { if (it <= 0) retryMaxMs else it }
        return WakeupWindow(nowMs + delay, nowMs + delay + delay / 2)
    }
}
